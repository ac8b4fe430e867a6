// Typeset LaTeX ($...$ inline, $$...$$ display) inside elements marked data-math, with the
// vendored KaTeX auto-render. Page-scoped: loaded only by pages that show authored content.
(function () {
  "use strict";
  function typeset() {
    if (typeof window.renderMathInElement !== "function") {
      return;
    }
    document.querySelectorAll("[data-math]").forEach(function (element) {
      window.renderMathInElement(element, {
        delimiters: [
          { left: "$$", right: "$$", display: true },
          { left: "$", right: "$", display: false },
          { left: "\\(", right: "\\)", display: false },
          { left: "\\[", right: "\\]", display: true }
        ],
        throwOnError: false
      });
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", typeset);
  } else {
    typeset();
  }
})();
