"""Template filters for authored content: `{{ skill.lesson|markdown }}`."""

from django import template
from django.utils.safestring import SafeString

from frontend.markdown import render_markdown

register = template.Library()


@register.filter(name="markdown")
def markdown_filter(text: str | None) -> SafeString:
    """Markdown + LaTeX, sanitised; wrap the output in an element with `data-math` for KaTeX."""
    return render_markdown(text)
