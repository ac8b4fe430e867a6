"""render_markdown: Markdown to sanitised HTML, with LaTeX left intact for KaTeX."""

from django.template import Context, Template
from django.utils.safestring import SafeString

from frontend.markdown import render_markdown


def test_it_renders_markdown():
    html = render_markdown(
        "## Title\n\nSome **bold** and *italic* text.\n\n- one\n- two\n"
    )

    assert html == (
        "<h2>Title</h2>\n<p>Some <strong>bold</strong> and <em>italic</em> text.</p>\n<ul>\n<li>one</li>\n<li>two</li>\n</ul>"
    )
    assert isinstance(html, SafeString)


def test_it_keeps_inline_and_display_math_untouched_by_markdown():
    html = render_markdown(
        "Here $a_1 * b_2 * c_3$ stays.\n\n$$\\frac{1}{2} = \\frac{2}{4}$$\n"
    )

    assert (
        html
        == "<p>Here $a_1 * b_2 * c_3$ stays.</p>\n<p>$$\\frac{1}{2} = \\frac{2}{4}$$</p>"
    )


def test_it_escapes_html_inside_math():
    assert render_markdown("If $x<y$ and $y > 2$ then $x \\& y$.") == (
        "<p>If $x&lt;y$ and $y &gt; 2$ then $x \\&amp; y$.</p>"
    )


def test_it_keeps_math_spanning_lines_and_math_with_pipes_in_tables():
    html = render_markdown("| a | b |\n|:--|--:|\n| $|x|$ | $x^2$ |\n\n$$a\n+ b$$")

    assert '<td align="left">$|x|$</td>' in html
    assert '<td align="right">$x^2$</td>' in html
    assert html.endswith("<p>$$a\n+ b$$</p>")


def test_it_leaves_dollars_that_are_not_math_alone():
    html = render_markdown("It costs $5 and $10, or \\$3.")

    assert (
        html
        == "<p>It costs <span>$</span>5 and <span>$</span>10, or <span>$</span>3.</p>"
    )


def test_it_does_not_treat_code_as_math():
    assert render_markdown("Type `$x$` here.") == "<p>Type <code>$x$</code> here.</p>"


def test_it_removes_scripts_event_handlers_and_javascript_links():
    html = render_markdown(
        "<script>alert(1)</script>\n\n"
        '<img src="x.png" onerror="alert(2)">\n\n'
        '[click](javascript:alert(3)) <a href="https://example.org" onclick="alert(4)">ok</a>\n\n'
        '<iframe src="https://evil.example"></iframe><style>p{}</style>'
    )

    assert "script" not in html
    assert "alert" not in html
    assert "onerror" not in html
    assert "onclick" not in html
    assert "javascript" not in html
    assert "iframe" not in html
    assert "style" not in html
    assert '<img src="x.png">' in html
    assert (
        '<a href="https://example.org" rel="noopener noreferrer nofollow">ok</a>'
        in html
    )


def test_it_cannot_be_tricked_into_markup_through_math():
    html = render_markdown('$<img src=x onerror="alert(1)">$')

    assert html == "<p>$&lt;img src=x onerror=&quot;alert(1)&quot;&gt;$</p>"


def test_it_renders_empty_text_as_nothing():
    assert render_markdown("") == ""
    assert render_markdown(None) == ""


def test_the_template_filter_renders_markdown():
    rendered = Template(
        "{% load rendering %}<div data-math>{{ text|markdown }}</div>"
    ).render(Context({"text": "**Half** is $\\frac{1}{2}$ <b onclick=x>"}))

    assert (
        rendered
        == "<div data-math><p><strong>Half</strong> is $\\frac{1}{2}$ <b></b></p></div>"
    )
