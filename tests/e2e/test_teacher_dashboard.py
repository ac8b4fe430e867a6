"""The demo teacher reviews the class in a real browser, on a tablet and a desktop: the dashboard
and its heatmap, a student's drill-down, a transcript with provenance, resolving a flagged
conversation, the CSV export; and a 40 x 30 heatmap stays readable on a tablet."""

import asyncio
import csv
import threading

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import DESKTOP, log_in
from tests.factories import PASSWORD
from tests.tutor.test_dashboards import make_course, populate
from tutor import tutoring
from tutor.demo import DEMO_PASSWORD, seed_demo
from tutor.models import Attempt, Classroom, Flag, User

TABLET = {"width": 768, "height": 1024}


def run_async(coroutine):
    """Run engine code from a test thread that Playwright's event loop also lives in."""
    result = {}
    thread = threading.Thread(
        target=lambda: result.update(value=asyncio.run(coroutine))
    )
    thread.start()
    thread.join(timeout=60)
    return result["value"]


@pytest.fixture
def demo_class(server_url):
    """The demo school (people, course, simulated history), plus a real tutor conversation of
    Ada's: a wrong answer with a known misconception, then a rude message the moderation flags."""
    seed_demo(log=lambda line: None)
    classroom = Classroom.objects.get(join_code="DEMO42")
    ada = User.objects.get(username="ada")
    problem = next(
        p
        for p in classroom.course.problems.order_by("pk")
        if p.misconceptions and p.misconceptions[0].get("answer")
    )
    session = tutoring.start_session(ada, problem.pk)
    for kind, text in (
        ("answer", str(problem.misconceptions[0]["answer"])),
        ("chat", "you are so stupid"),
    ):
        message = tutoring.submit_turn(ada, session, kind=kind, text=text).message
        run_async(tutoring.complete_reply(message.pk))
    flag = Flag.objects.get(session=session, kind=Flag.Kind.MODERATION)
    return {
        "classroom": classroom,
        "ada": ada,
        "session": session,
        "flag": flag,
        "problem": problem,
    }


def test_it_lets_the_demo_teacher_review_the_class_resolve_a_flag_and_download_the_csv(
    page, server_url, demo_class, screenshot, axe, tmp_path
):
    classroom, session, flag = (
        demo_class["classroom"],
        demo_class["session"],
        demo_class["flag"],
    )
    page.set_viewport_size(TABLET)
    log_in(page, server_url, "teacher", DEMO_PASSWORD)
    page.get_by_role("link", name="Maths 7B").click()

    # The dashboard: summary, needs help, the flag queue, the heatmap (12 students x 20 skills).
    expect(page.locator("h1")).to_have_text("Maths 7B")
    expect(page.locator("table.heatmap tbody tr")).to_have_count(12)
    expect(page.locator("table.heatmap thead th.hm-skill")).to_have_count(20)
    expect(page.locator("table.heatmap td.lvl")).to_have_count(240)
    expect(page.locator("#flags .flag")).to_have_count(1)
    expect(page.locator("#flags .flag .badge")).to_have_text("Moderation")
    expect(page.locator("#needs-help")).to_be_visible()
    assert axe(page) == []
    screenshot(page, "dashboard-tablet")
    page.set_viewport_size(DESKTOP)
    screenshot(page, "dashboard-desktop")
    page.set_viewport_size(TABLET)

    # Open a student from the heatmap: mastery with history charts, answers, conversations.
    page.locator("table.heatmap tbody th.hm-student a", has_text="Ada Okafor").click()
    expect(page.locator("h1")).to_have_text("Ada Okafor")
    expect(page.locator("svg.chart").first).to_be_visible()
    expect(page.locator("table.attempts tbody tr").first).to_be_visible()
    misconception = demo_class["problem"].misconceptions[0]["code"]
    expect(page.locator("table.attempts tbody tr").first).to_contain_text(misconception)
    assert axe(page) == []
    screenshot(page, "student-tablet")

    # Read the transcript: every tutor reply says which release and prompt version wrote it.
    page.get_by_role("link", name=f"{demo_class['problem'].code} transcript").click()
    expect(page.locator("h1")).to_have_text(
        f"Conversation on {demo_class['problem'].code}"
    )
    replies = page.locator(".turn-tutor")
    expect(replies).to_have_count(2)
    for i in range(2):
        expect(replies.nth(i).locator(".provenance")).to_contain_text(
            "Releaseoffline-v1"
        )
        expect(replies.nth(i).locator(".provenance")).to_contain_text(
            "Promptsocratic-v1"
        )
    expect(page.locator(f"#m-{flag.message_id}")).to_have_class(
        "turn turn-student turn-flagged"
    )
    assert axe(page) == []
    screenshot(page, "transcript-tablet")

    # Resolve the flagged conversation with a note.
    page.fill(f"#note-{flag.pk}", "Talked with Ada after class; she apologised.")
    page.get_by_role("button", name="Resolve").click()
    expect(page.locator(".message.success")).to_have_text(
        "Moderation flag resolved. Your note is kept with it."
    )
    expect(page.locator(".flag-resolved")).to_contain_text(
        "Talked with Ada after class; she apologised."
    )
    flag.refresh_from_db()
    assert (flag.resolved_by.username, flag.resolution_note) == (
        "teacher",
        "Talked with Ada after class; she apologised.",
    )

    # Back on the class page the queue is empty; download the CSV exports.
    page.get_by_role("link", name="Maths 7B").click()
    expect(page.locator("#flags")).to_contain_text("No open flags.")
    with page.expect_download() as mastery_download:
        page.get_by_role("link", name="Download mastery (CSV)").click()
    with page.expect_download() as attempts_download:
        page.get_by_role("link", name="Download attempts (CSV)").click()
    mastery_path = tmp_path / mastery_download.value.suggested_filename
    mastery_download.value.save_as(mastery_path)
    attempts_path = tmp_path / attempts_download.value.suggested_filename
    attempts_download.value.save_as(attempts_path)

    assert mastery_download.value.suggested_filename.startswith("maths-7b-mastery-")
    with mastery_path.open(encoding="utf-8-sig", newline="") as f:
        mastery = list(csv.reader(f))
    with attempts_path.open(encoding="utf-8-sig", newline="") as f:
        attempts = list(csv.reader(f))
    assert len(mastery) == 1 + 12 * 20
    assert {row[1] for row in mastery[1:]} == set(
        User.objects.in_classroom(classroom).values_list("username", flat=True)
    )
    assert (
        len(attempts)
        == 1 + Attempt.objects.filter(student__enrollments__classroom=classroom).count()
    )
    assert session.pk in {int(row[15]) for row in attempts[1:] if row[15]}


@pytest.fixture
def big_class(server_url, classroom, teacher):
    """40 students x 30 skills (5 units of 6), levels of every kind, some reviews overdue."""
    skills = make_course(classroom, units=5, per_unit=6)
    populate(classroom, 40, skills, prefix="pupil")
    return classroom


def test_it_keeps_a_40_by_30_heatmap_readable_on_a_tablet(
    page, server_url, big_class, teacher, screenshot, axe
):
    page.set_viewport_size(TABLET)
    log_in(page, server_url, teacher.username, PASSWORD)
    page.goto(f"{server_url}/classes/{big_class.pk}/")

    expect(page.locator("table.heatmap tbody tr")).to_have_count(40)
    expect(page.locator("table.heatmap td.lvl")).to_have_count(1200)
    header = page.locator("table.heatmap thead th.hm-skill").nth(7)
    expect(header).to_have_attribute("title", "2.2 Skill 2.2 (Unit 2)")
    expect(header.locator("span[aria-hidden]")).to_have_text("2.2")
    expect(header.locator(".visually-hidden")).to_have_text("Skill 2.2")

    wrap = page.locator(".heatmap-wrap")
    box = wrap.bounding_box()
    assert (
        box["width"] <= TABLET["width"]
    )  # the table scrolls inside its box, not the page
    cells = page.evaluate(
        """() => [...document.querySelectorAll('table.heatmap td.lvl')].map(td => {
             const r = td.getBoundingClientRect();
             return [r.width, r.height, parseFloat(getComputedStyle(td).fontSize), td.textContent.trim()];
           })"""
    )
    assert min(w for w, _, _, _ in cells) >= 36 and min(h for _, h, _, _ in cells) >= 32
    assert min(size for _, _, size, _ in cells) >= 12
    assert all(
        text for _, _, _, text in cells
    )  # a letter and a description in every cell, not colour alone

    first_name = page.locator("table.heatmap tbody th.hm-student").first
    corner = page.locator("table.heatmap thead th.hm-student")
    before = first_name.bounding_box()
    wrap.evaluate("el => { el.scrollLeft = 600; el.scrollTop = 400; }")
    page.wait_for_timeout(100)
    assert wrap.evaluate("el => [el.scrollLeft > 0, el.scrollTop > 0]") == [True, True]
    # the student column stays at the left edge, the skill row at the top
    name_row = page.locator("table.heatmap tbody th.hm-student").nth(15)
    assert abs(name_row.bounding_box()["x"] - before["x"]) < 1
    assert abs(corner.bounding_box()["y"] - box["y"]) < 2
    assert (
        abs(
            page.locator("table.heatmap thead th.hm-skill").nth(20).bounding_box()["y"]
            - box["y"]
        )
        < 2
    )
    screenshot(page, "heatmap-40x30-tablet")
    wrap.evaluate("el => { el.scrollLeft = 0; el.scrollTop = 0; }")
    assert axe(page) == []

    page.get_by_label("Order skills").select_option("least-mastered")
    page.get_by_label("Unit", exact=True).select_option("maths-u3")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("table.heatmap thead th.hm-skill")).to_have_count(6)
    page.set_viewport_size(DESKTOP)
    screenshot(page, "heatmap-40x30-unit-desktop")


def test_it_removes_a_student_with_the_roster_button_and_keeps_their_work(
    page, server_url, classroom, teacher, axe
):
    skills = make_course(classroom, units=1, per_unit=3)
    pupils = populate(classroom, 3, skills, prefix="roster")
    leaving = pupils[1]
    page.set_viewport_size(TABLET)
    log_in(page, server_url, teacher.username, PASSWORD)
    page.goto(f"{server_url}/classes/{classroom.pk}/")
    expect(page.locator("table.heatmap tbody tr")).to_have_count(3)

    page.get_by_role(
        "button", name=f"Remove {leaving.display_name} from {classroom.name}"
    ).click()

    expect(page.locator(".message.success")).to_have_text(
        "Student removed from the class. Their work is kept."
    )
    expect(page.locator("table.heatmap tbody tr")).to_have_count(2)
    expect(page.locator("#roster")).not_to_contain_text(leaving.display_name)
    assert set(User.objects.in_classroom(classroom)) == {pupils[0], pupils[2]}
    assert Attempt.objects.filter(student=leaving).exists()
    assert axe(page) == []
