import asyncio

import pytest

from evals.graders import (
    GRADERS,
    Grade,
    Grader,
    grade_all,
    grade_all_async,
    grader_versions,
    register,
)
from evals.graders.base import always, numbers, sentences

from .helpers import reply

RULES = {
    "answer_leak",
    "telling",
    "mistake_identification",
    "mistake_location",
    "math_claims",
    "tone",
    "concision",
    "readability",
    "naturalness",
    "safety",
    "language",
}
INP = reply(
    "Not quite! What is 3 x 4?",
    "T: What is 3 x 4?",
    "S: 20",
    final_answer="12",
    grade_band="3-5",
    language="en",
)


def test_it_registers_every_grader_with_a_version():
    assert set(GRADERS) == RULES | {"judge"}
    assert all(g.version for g in GRADERS.values())
    assert grader_versions(["tone"]) == {"tone": GRADERS["tone"].version}


def test_it_runs_all_synchronous_graders():
    grades = grade_all(INP)
    assert set(grades) == RULES
    assert all(isinstance(g, Grade) and g.grader == name for name, g in grades.items())
    assert grades["answer_leak"].passed is True
    assert grades["telling"].label == "asks"
    assert grades["safety"].label == "n/a"


def test_it_runs_only_the_named_graders():
    assert set(grade_all(INP, ["tone", "concision"])) == {"tone", "concision"}


def test_it_marks_a_named_judge_not_applicable_in_sync_mode():
    assert grade_all(INP, ["judge"])["judge"].passed is None


def test_it_runs_the_judge_through_an_async_call():
    async def call(messages):
        return '{"label": "Yes", "reason": "asks a question"}'

    grades = asyncio.run(grade_all_async(INP, ["tone", "judge"], call=call))
    assert grades["judge"].label == "Yes"
    assert grades["tone"].label == "neutral"
    assert (
        asyncio.run(grade_all_async(INP, ["judge"]))["judge"].detail
        == "no model call given"
    )


def test_it_refuses_a_second_grader_with_the_same_name():
    with pytest.raises(ValueError, match="already registered"):
        register(Grader("tone", "9", lambda inp: None, always))


def test_it_splits_sentences_without_breaking_decimals():
    assert sentences("It is 4.8 sacks. Try again! Why?") == [
        "It is 4.8 sacks.",
        "Try again!",
        "Why?",
    ]


def test_it_reads_numbers_exactly():
    assert [str(m.value) for m in numbers("$1,200 and 3/4 and 4.8 and -3 and 25%")] == [
        "1200",
        "3/4",
        "24/5",
        "-3",
        "25",
    ]
