// Practice page: send turns to the tutor API and stream replies over server-sent events.
// All user and model text is inserted with textContent (never innerHTML), then KaTeX renders math.
(() => {
  "use strict";
  const root = document.getElementById("practice");
  if (!root) return;
  const sessionId = root.dataset.session;
  const log = document.getElementById("chat-log");
  const status = document.getElementById("chat-status");
  const csrf = root.querySelector("[name=csrfmiddlewaretoken]").value;
  const answerForm = document.getElementById("answer-form");
  const answerInput = document.getElementById("answer-input");
  const chatForm = document.getElementById("chat-form");
  const chatInput = document.getElementById("chat-input");
  const hintButton = document.getElementById("hint-button");
  const controls = [
    document.getElementById("check-button"),
    document.getElementById("send-button"),
    hintButton,
  ];
  let busy = false;

  const renderMath = (element) => {
    if (window.renderMathIn) window.renderMathIn(element);
  };

  const clientId = () =>
    window.crypto && crypto.randomUUID
      ? crypto.randomUUID()
      : `${Date.now()}-${Math.random().toString(16).slice(2)}`;

  function setBusy(value) {
    busy = value;
    controls.forEach((button) => {
      if (button) button.disabled = value;
    });
  }

  function bubble(role, text, extraClass) {
    const item = document.createElement("li");
    item.className = `msg msg-${role}` + (extraClass ? ` ${extraClass}` : "");
    if (extraClass === "msg-answer") {
      const label = document.createElement("span");
      label.className = "msg-label";
      label.textContent = "Answer:";
      item.append(label);
    }
    const body = document.createElement("div");
    body.className = "msg-body";
    body.textContent = text;
    item.append(body);
    log.querySelector(".msg-intro")?.remove();
    log.append(item);
    log.scrollTop = log.scrollHeight;
    return item;
  }

  function addRating(item) {
    const template = document.getElementById("rate-template");
    item.append(template.content.cloneNode(true));
  }

  function markVerdict(item, verdict) {
    if (!verdict) return;
    const badge = document.createElement("span");
    badge.className = "msg-verdict " + (verdict.correct ? "correct" : "wrong");
    badge.textContent = verdict.correct
      ? "✓ Correct"
      : verdict.parse_error
        ? "Couldn't read that"
        : "Not yet";
    item.append(badge);
  }

  function stream(url) {
    const item = bubble("tutor", "", "typing");
    item.setAttribute("aria-busy", "true");
    const body = item.querySelector(".msg-body");
    const source = new EventSource(url);
    let finished = false;
    const data = (event) => JSON.parse(event.data);
    // A reconnect replays the reply from its start, so start from empty.
    source.addEventListener("open", () => { body.textContent = ""; });
    source.addEventListener("delta", (event) => {
      body.textContent += data(event).text;
      log.scrollTop = log.scrollHeight;
    });
    source.addEventListener("replace", (event) => { body.textContent = data(event).text; });
    source.addEventListener("reset", () => { body.textContent = ""; });
    source.addEventListener("done", (event) => {
      finished = true;
      source.close();
      const reply = data(event);
      body.textContent = reply.text;
      item.classList.remove("typing");
      item.removeAttribute("aria-busy");
      item.dataset.messageId = reply.message_id;
      if (reply.offline) {
        const meta = document.createElement("span");
        meta.className = "msg-meta";
        meta.textContent = "Offline tutor";
        item.append(meta);
      }
      addRating(item);
      renderMath(body);
      status.textContent = "";
      setBusy(false);
    });
    const fail = (detail) => {
      if (finished) return;
      finished = true;
      source.close();
      item.classList.remove("typing");
      item.classList.add("msg-error");
      item.removeAttribute("aria-busy");
      body.textContent = detail || "The tutor is unavailable right now. Your message is saved: try again.";
      const retry = document.createElement("button");
      retry.type = "button";
      retry.className = "secondary retry";
      retry.textContent = "Try again";
      retry.addEventListener("click", () => {
        item.remove();
        setBusy(true);
        stream(url);
      });
      item.append(retry);
      setBusy(false);
      retry.focus();
    };
    source.addEventListener("error", (event) => {
      if (event.data) fail(data(event).detail);
      else fail();
    });
  }

  async function send(kind, text) {
    if (busy) return false;
    setBusy(true);
    status.textContent = "";
    const shown = kind === "hint" ? "Can I have a hint?" : text;
    const item = bubble("student", shown, kind === "answer" ? "msg-answer" : "");
    let response;
    try {
      response = await fetch(`/api/sessions/${sessionId}/messages/`, {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
        body: JSON.stringify({ kind, text, client_id: clientId() }),
        credentials: "same-origin",
      });
    } catch (error) {
      item.remove();
      status.textContent = "You seem to be offline. Your text is still in the box: try again.";
      setBusy(false);
      return false;
    }
    const payload = await response.json().catch(() => ({}));
    if (!response.ok) {
      item.remove();
      status.textContent = payload.detail || "Something went wrong. Try again.";
      setBusy(false);
      return false;
    }
    markVerdict(item, payload.verdict);
    if (kind === "hint") {
      const count = document.getElementById("hint-count");
      if (count) count.textContent = "Hint requested";
    }
    if (payload.solved) {
      answerForm.hidden = true;
      document.querySelector(".problem-actions").hidden = true;
      document.body.dispatchEvent(new CustomEvent("solved"));
    }
    stream(payload.stream_url);
    return true;
  }

  answerForm?.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = answerInput.value.trim();
    if (!text) {
      status.textContent = "Type your answer first.";
      answerInput.focus();
      return;
    }
    if (await send("answer", text)) answerInput.value = "";
  });

  chatForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = chatInput.value.trim();
    if (!text) return;
    if (await send("chat", text)) chatInput.value = "";
  });

  chatInput.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      chatForm.requestSubmit();
    }
  });

  hintButton?.addEventListener("click", () => send("hint", ""));

  log.addEventListener("click", async (event) => {
    const button = event.target.closest(".rate-button");
    if (!button) return;
    const item = button.closest(".msg");
    const response = await fetch(`/api/messages/${item.dataset.messageId}/rating/`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify({ value: Number(button.dataset.value) }),
      credentials: "same-origin",
    });
    if (response.ok) {
      item.querySelectorAll(".rate-button").forEach((other) => {
        other.setAttribute("aria-pressed", String(other === button));
      });
      status.textContent = "Thanks for the feedback.";
    }
  });

  // A message whose reply never arrived (closed tab, server restart): finish it now.
  if (root.dataset.pendingStream) {
    setBusy(true);
    stream(root.dataset.pendingStream);
  }
})();
