"""Small builders shared by the grader tests."""

from evals.graders.base import GradeInput, Turn


def dialogue(*turns: str) -> tuple[Turn, ...]:
    """dialogue("T: What is 3 x 4?", "S: 20") -> tutor/student turns."""
    out = []
    for turn in turns:
        role, _, text = turn.partition(":")
        out.append(Turn("tutor" if role.strip() == "T" else "student", text.strip()))
    return tuple(out)


def reply(response: str, *turns: str, **kwargs) -> GradeInput:
    return GradeInput(response=response, history=dialogue(*turns), **kwargs)
