import asyncio
import json

from evals.graders import GRADERS, judge
from evals.graders.judge import (
    build_messages,
    compare,
    grade_async,
    parse_json_object,
    parse_verdict,
    parse_winner,
)

from .helpers import reply

INP = reply(
    "Not quite. What is 3 x 4?",
    "T: What is 3 x 4?",
    "S: 20",
    problem_text="What is 3 x 4?",
    final_answer="12",
)


def fake(*answers):
    """An async model call returning canned answers in turn, recording the messages it got."""
    seen = []

    async def call(messages):
        seen.append(messages)
        return answers[min(len(seen) - 1, len(answers) - 1)]

    return call, seen


def test_it_builds_a_structured_prompt_with_the_schema_and_dialogue():
    messages = build_messages(INP, "Mistake_Identification")
    assert [m["role"] for m in messages] == ["system", "user"]
    assert json.dumps(judge.VERDICT_SCHEMA) in messages[0]["content"]
    assert "Student: 20" in messages[1]["content"]
    assert "<reply>\nNot quite. What is 3 x 4?\n</reply>" in messages[1]["content"]
    assert judge.RUBRIC["Mistake_Identification"] in messages[1]["content"]


def test_it_parses_verdicts_robustly():
    assert parse_verdict('{"label": "Yes", "reason": "says not quite"}') == (
        "Yes",
        "says not quite",
    )
    assert parse_verdict(
        'Sure!\n```json\n{"label": "To some extent", "reason": "vague",}\n```'
    ) == ("To some extent", "vague")
    assert parse_verdict("{'label': 'no', 'reason': 'praise only'}") == (
        "No",
        "praise only",
    )
    assert parse_verdict('label: "yes"') == ("Yes", "")
    assert parse_verdict("No.") == ("No", "")
    assert parse_verdict("I cannot decide") is None
    assert parse_json_object('x {"a": {"b": "}"}} y') == {"a": {"b": "}"}}


def test_it_grades_through_the_injected_call():
    call, seen = fake('{"label": "Yes", "reason": "flags the error"}')
    g = asyncio.run(grade_async(INP, call, dimension="Mistake_Identification"))
    assert (g.grader, g.passed, g.score, g.label) == ("judge", True, 1.0, "Yes")
    assert g.detail == "Mistake_Identification: flags the error"
    assert len(seen) == 1


def test_it_inverts_the_score_for_revealing_the_answer():
    call, _ = fake('{"label": "Yes", "reason": "says 12"}')
    g = asyncio.run(grade_async(INP, call, dimension="Revealing_of_the_Answer"))
    assert (g.passed, g.score) == (False, 0.0)


def test_it_reports_errors_as_errors_not_failures():
    async def broken(messages):
        raise TimeoutError

    g = asyncio.run(grade_async(INP, broken))
    assert (g.passed, g.score, g.label) == (None, None, "error")
    call, _ = fake("no idea")
    assert asyncio.run(grade_async(INP, call)).label == "error"


def test_it_asks_both_orders_in_pairwise_mode():
    call, seen = fake(
        '{"winner": "A", "reason": "asks"}', '{"winner": "B", "reason": "asks"}'
    )
    verdict = asyncio.run(compare(INP, "What is 3 x 4?", "It is 12.", call))
    assert verdict.winner == "A"
    assert verdict.consistent
    assert "<reply_a>\nWhat is 3 x 4?" in seen[0][1]["content"]
    assert "<reply_a>\nIt is 12." in seen[1][1]["content"]


def test_it_calls_a_position_flip_a_tie():
    call, _ = fake('{"winner": "A", "reason": "first"}')
    verdict = asyncio.run(compare(INP, "What is 3 x 4?", "It is 12.", call))
    assert (verdict.winner, verdict.first_order, verdict.second_order) == (
        "tie",
        "A",
        "B",
    )
    assert parse_winner("Winner: tie") == "tie"


def test_it_is_registered_as_a_diagnostic_judge_with_a_rubric_hash():
    grader = GRADERS["judge"]
    assert (grader.kind, grader.diagnostic) == ("judge", True)
    assert grader.version == f"1.0+{judge.rubric_hash()}"
    assert judge.rubric_hash({"Actionability": "changed"}) != judge.rubric_hash()
