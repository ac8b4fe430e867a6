"""The curriculum browser: courses, a course's skill map, a skill's lesson (and, for staff, problems)."""

import re
from pathlib import Path

import pytest

from curriculum.importer import import_course
from curriculum.models import Skill
from frontend.views.curriculum import layout_graph

GOOD = Path(__file__).resolve().parents[1] / "curriculum" / "data" / "good"


@pytest.fixture
def course(db):
    import_course(GOOD)


def test_it_sends_anonymous_visitors_to_the_login_page(client, course):
    for url in (
        "/curriculum/",
        "/curriculum/tiny-math/",
        "/curriculum/tiny-math/adding/",
    ):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"] == f"/login/?next={url}"


def test_it_lists_the_courses(login, student, course):
    response = login(student).get("/curriculum/")

    assert response.status_code == 200
    html = response.content.decode()
    assert '<a href="/curriculum/tiny-math/">Tiny Mathematics</a>' in html
    assert "Grades 6 · 2 units · 3 skills" in html


def test_it_says_so_when_no_course_exists(login, student):
    response = login(student).get("/curriculum/")

    assert "No course has been imported yet." in response.content.decode()


def test_it_shows_a_course_with_its_skill_map_and_an_accessible_list(
    login, student, course
):
    response = login(student).get("/curriculum/tiny-math/")

    assert response.status_code == 200
    html = response.content.decode()
    svg = html[html.index("<svg") : html.index("</svg>")]
    assert 'role="group" aria-labelledby="graph-heading"' in svg
    assert svg.count("<rect ") == 3
    assert (
        svg.count('marker-end="url(#arrow)"') == 3
    )  # adding->halves, adding->doubling, halves->doubling
    assert (
        '<a href="/curriculum/tiny-math/doubling/" aria-label="Doubling expressions (Beyond)">'
        in svg
    )
    assert '<a href="/curriculum/tiny-math/halves/">Halves</a>' in html
    assert 'Needs: <a href="#skill-adding">Adding whole numbers</a>' in html
    assert "Needs nothing first" in html
    assert re.search(r"<h3>.*1\. Basics</h3>", html)


def test_it_draws_each_skill_below_the_skills_it_needs(course):
    skills = list(
        Skill.objects.select_related("unit").prefetch_related("prerequisites")
    )

    graph = layout_graph(skills)

    rows = [[node.skill.code for node in layer] for layer in graph.layers]
    assert rows == [["adding"], ["halves"], ["doubling"]]
    assert [node.y for node in graph.nodes] == [12, 122, 232]
    assert (graph.width, graph.height) == (164, 302)
    assert sorted(
        (edge.source.skill.code, edge.target.skill.code) for edge in graph.edges
    ) == [
        ("adding", "doubling"),
        ("adding", "halves"),
        ("halves", "doubling"),
    ]


def test_it_wraps_a_wide_row_of_the_skill_map(course):
    adding = Skill.objects.get(code="adding")
    for n in range(7):
        Skill.objects.create(
            course=adding.course,
            unit=adding.unit,
            code=f"extra-{n}",
            name=f"Extra {n}",
            position=5 + n,
        )
    skills = list(
        Skill.objects.select_related("unit")
        .prefetch_related("prerequisites")
        .order_by("position")
    )

    graph = layout_graph(skills)

    assert [len(layer) for layer in graph.layers] == [8, 1, 1]
    assert sorted({node.y for node in graph.layers[0]}) == [12, 122]
    assert [node.y for node in graph.layers[2]] == [342]
    assert graph.width == 934  # six columns: fits the page's 64rem column


def test_it_renders_a_skill_lesson_with_math_for_katex(login, student, course):
    response = login(student).get("/curriculum/tiny-math/adding/")

    assert response.status_code == 200
    html = response.content.decode()
    assert '<div class="prose" data-math><h2>Adding</h2>' in html
    assert "$a_1 + a_2 * 2$" in html
    assert "/static/vendor/katex/katex.min.js" in html
    assert "/static/vendor/katex/auto-render.min.js" in html
    assert "/static/js/katex-init.js" in html
    assert "/static/vendor/katex/katex.min.css" in html
    assert '<a href="/curriculum/tiny-math/halves/">Halves</a>' in html  # leads to


def test_a_student_never_sees_problems_answers_or_solutions(login, student, course):
    response = login(student).get("/curriculum/tiny-math/adding/")

    html = response.content.decode()
    assert "What is $4817 + 1000$?" not in html
    assert "5817" not in html
    assert "Worked solution" not in html
    assert "thousands digit" not in html
    assert "<dt>Problems</dt>\n  <dd>2</dd>" in html


def test_a_teacher_sees_problems_with_answers_solutions_hints_and_misconceptions(
    login, teacher, course
):
    response = login(teacher).get("/curriculum/tiny-math/adding/")

    html = response.content.decode()
    assert "<p>What is $4817 + 1000$?</p>" in html
    assert "<strong>Answer:</strong> <code>5817</code>" in html
    assert "<summary>Worked solution</summary>" in html
    assert "<summary>Hint ladder (3)</summary>" in html
    assert "<code>4917</code>" in html
    assert (
        '<ol class="choices" type="A"><li>6 + 5</li><li>7 + 5</li><li>8 + 5</li></ol>'
        in html
    )


def test_an_admin_sees_the_solutions_too(login, admin_user, course):
    html = login(admin_user).get("/curriculum/tiny-math/halves/").content.decode()

    assert "<strong>Answer:</strong> <code>3/8</code>" in html


def test_it_answers_404_for_unknown_or_retired_content(login, student, course):
    client = login(student)
    Skill.objects.filter(code="doubling").update(retired_at="2026-01-01T00:00:00Z")

    assert client.get("/curriculum/nope/").status_code == 404
    assert client.get("/curriculum/tiny-math/nope/").status_code == 404
    assert client.get("/curriculum/tiny-math/doubling/").status_code == 404
    assert "doubling" not in client.get("/curriculum/tiny-math/").content.decode()


def test_the_pages_are_built_for_small_screens(login, teacher, course):
    html = login(teacher).get("/curriculum/tiny-math/").content.decode()
    css = (
        Path(__file__).resolve().parents[2]
        / "frontend"
        / "static"
        / "css"
        / "curriculum.css"
    ).read_text()

    assert (
        '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    )
    assert "/static/css/curriculum.css" in html
    assert '<div class="skill-graph" tabindex="0" role="region"' in html
    assert ".skill-graph { overflow-x: auto;" in css
