"""Small server-side SVG charts: no JavaScript, readable on a phone, with a text alternative."""

from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

MASTERED_AT = 0.95


def mastery_line(points: list[float], *, width: int = 240, height: int = 48, label: str = "") -> SafeString:
    """A line of P(known) over successive changes, with the mastery threshold dashed."""
    if not points:
        return mark_safe("")
    pad = 3
    step = (width - 2 * pad) / max(len(points) - 1, 1)

    def y(value: float) -> str:
        return f"{pad + (1 - value) * (height - 2 * pad):.1f}"

    # Numbers are formatted before format_html, which escapes its arguments into strings.
    coords = " ".join(f"{pad + i * step:.1f},{y(v)}" for i, v in enumerate(points))
    return format_html(
        '<svg class="chart" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" aria-label="{label}">'
        '<line x1="0" x2="{w}" y1="{t}" y2="{t}" stroke="#1e7a3c" stroke-dasharray="4 3" stroke-width="1"/>'
        '<polyline fill="none" stroke="#1f5fbf" stroke-width="2" points="{coords}"/>'
        '<circle cx="{lx}" cy="{ly}" r="3" fill="#1f5fbf"/></svg>',
        w=width, h=height, t=y(MASTERED_AT), coords=coords, lx=f"{pad + (len(points) - 1) * step:.1f}",
        ly=y(points[-1]), label=label,
    )  # fmt: skip
