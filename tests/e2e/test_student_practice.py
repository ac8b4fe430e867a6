"""A student learns with the tutor in a real browser, on a phone-sized screen."""

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import DESKTOP, log_in
from tests.factories import PASSWORD, ProblemFactory
from tutor import tutoring
from tutor.models import Message, User

WATCH_TUTOR_BUBBLE = """() => {
  window.__lengths = [];
  new MutationObserver(() => {
    const bubbles = document.querySelectorAll('#chat-log .msg-tutor .msg-body');
    const last = bubbles[bubbles.length - 1];
    if (last) window.__lengths.push(last.textContent.length);
  }).observe(document.getElementById('chat-log'), {subtree: true, childList: true, characterData: true});
}"""


@pytest.fixture
def course_class(classroom):
    first = ProblemFactory(code="add-halves-quarters", position=1)
    ProblemFactory(
        skill=first.skill,
        code="add-thirds",
        position=2,
        prompt="Work out $\\frac{1}{3} + \\frac{1}{3}$.",
        answer_spec={"kind": "fraction", "value": "2/3"},
        misconceptions=[],
    )
    classroom.course = first.course
    classroom.save()
    return classroom


def reply_to(page, action) -> str:
    """Do `action`, wait for one more finished tutor reply, return its text."""
    finished = page.locator("#chat-log .msg-tutor .rate")
    before = finished.count()
    action()
    expect(finished).to_have_count(before + 1)
    return page.locator("#chat-log .msg-tutor .msg-body").last.inner_text()


def click(page, selector):
    return lambda: page.click(selector)


def test_it_lets_a_new_student_join_and_practise_a_problem_with_the_tutor(
    page, server_url, course_class, screenshot, axe
):
    page.goto(f"{server_url}/signup/")
    page.fill("#id_username", "newkid")
    page.fill("#id_first_name", "Nia")
    page.fill("#id_password", "fractions-are-fun-7")
    page.get_by_role("button", name="Create account").click()
    expect(page.locator("h1")).to_have_text("Join a class")
    page.fill("#id_code", course_class.join_code.lower())
    page.get_by_role("button", name="Join", exact=True).click()
    expect(page.locator(".message.success")).to_contain_text(f"You joined {course_class.name}")
    assert axe(page) == []
    screenshot(page, "home-phone")

    page.click("#continue")
    expect(page.locator(".prompt .katex").first).to_be_visible()  # LaTeX rendered by KaTeX
    assert axe(page) == []
    page.evaluate(WATCH_TUTOR_BUBBLE)

    page.fill("#chat-input", "I don't get it")
    reply = reply_to(page, click(page, "#send-button"))
    assert "same denominator" in reply
    lengths = page.evaluate("window.__lengths")
    assert len({n for n in lengths if n > 0}) >= 3, f"reply did not stream in pieces: {lengths}"

    page.fill("#answer-input", "2/6")
    assert "You added the tops and the bottoms" in reply_to(page, click(page, "#check-button"))
    expect(page.locator("#chat-log .msg-answer .msg-verdict").last).to_have_text("Not yet")

    assert "Can you write both fractions with the same denominator?" in reply_to(page, click(page, "#hint-button"))

    page.fill("#answer-input", "3/4")
    page.click("#check-button")
    expect(page.locator("#chat-log .msg-answer .msg-verdict").last).to_have_text("✓ Correct")
    expect(page.locator("#outcome")).to_contain_text("Solved!")
    expect(page.locator("[data-testid=mastery-change]")).to_have_text(re.compile(r"\d+% → \d+%"))
    expect(page.locator("#next-problem")).to_be_visible()
    screenshot(page, "solved-phone")
    page.set_viewport_size(DESKTOP)
    screenshot(page, "solved-desktop")

    page.click("#next-problem")
    next_problem = course_class.course.problems.get(code="add-thirds")
    expect(page).to_have_url(f"{server_url}/practice/{next_problem.pk}/")


def test_it_renders_a_script_in_a_message_as_text(page, server_url, course_class, student):
    log_in(page, server_url, student.username, PASSWORD)
    problem = course_class.course.problems.get(code="add-halves-quarters")
    page.goto(f"{server_url}/practice/{problem.pk}/")
    attack = "<script>window.pwned = 1</script><img src=x onerror=window.pwned=2>"
    page.fill("#chat-input", attack)
    reply_to(page, click(page, "#send-button"))
    assert page.locator("#chat-log .msg-student .msg-body").last.inner_text() == attack
    page.reload()
    assert page.locator("#chat-log .msg-student .msg-body").last.inner_text() == attack
    assert page.evaluate("window.pwned") is None


def test_it_shows_a_retry_when_the_tutor_fails_and_keeps_the_message(
    page, server_url, course_class, student, monkeypatch, screenshot
):
    async def broken(*args, **kwargs):
        raise RuntimeError("provider and fallback both down")

    monkeypatch.setattr(tutoring, "_run_reply", broken)
    log_in(page, server_url, student.username, PASSWORD)
    problem = course_class.course.problems.get(code="add-halves-quarters")
    page.goto(f"{server_url}/practice/{problem.pk}/")
    page.fill("#chat-input", "Can you help me with the denominators?")
    page.click("#send-button")
    expect(page.locator(".msg-error")).to_contain_text("try again")
    expect(page.locator(".msg-error button.retry")).to_be_visible()
    screenshot(page, "provider-failure-phone")

    page.reload()  # the page tries the unanswered message again, and it fails again
    expect(page.locator("#chat-log .msg-student").last).to_contain_text("Can you help me with the denominators?")
    expect(page.locator(".msg-error button.retry")).to_be_visible()
    monkeypatch.undo()
    assert "same denominator" in reply_to(page, lambda: page.locator(".msg-error button.retry").click())
    message = Message.objects.get(text="Can you help me with the denominators?")
    assert Message.objects.filter(reply_to=message, status="complete").count() == 1
    assert User.objects.get(pk=student.pk).tutoring_sessions.count() == 1
