"""What the tutor knows when it answers one turn: plain data, built from the database for live
turns (tutor.tutoring) and from case files for evals. The final answer and solution are in here
for the model's eyes only; nothing in this object is ever sent to a student's browser."""

from dataclasses import dataclass, field

# Rough budget for the conversation window: ~4 characters per token.
HISTORY_TOKEN_BUDGET = 1200
CHARS_PER_TOKEN = 4


@dataclass(frozen=True)
class HistoryTurn:
    role: str  # "student" | "tutor"
    text: str


@dataclass(frozen=True)
class VerdictInfo:
    correct: bool
    normalized: str | None
    feedback: str
    parse_error: str | None = None
    misconception_code: str | None = None
    misconception_feedback: str | None = None


@dataclass(frozen=True)
class SkillMastery:
    name: str
    level: str
    p_known: float


@dataclass(frozen=True)
class TutorContext:
    turn_kind: str  # "chat" | "answer" | "hint_request"
    student_text: str
    student_name: str  # a pseudonym, never the real name
    skill_name: str
    skill_code: str
    lesson_excerpt: str
    problem_prompt: str
    solution: str
    final_answer: str
    answer_kind: str
    hints: tuple[dict, ...]
    hints_given: int  # rungs of the ladder already shown, this turn included
    grade: int | None = None
    language: str = "en"
    verdict: VerdictInfo | None = None
    solved: bool = False
    mastery: SkillMastery | None = None
    prerequisites: tuple[SkillMastery, ...] = ()
    history: tuple[HistoryTurn, ...] = ()
    known_values: tuple[str, ...] = ()
    flagged_categories: tuple[str, ...] = ()
    extra: dict = field(default_factory=dict)

    @property
    def current_hint(self) -> dict | None:
        """The highest rung reached so far (the one to build on), or None before any hint."""
        if not self.hints or self.hints_given <= 0:
            return None
        return self.hints[min(self.hints_given, len(self.hints)) - 1]

    @property
    def next_hint(self) -> dict | None:
        """The next rung up the ladder (the bottom-out step once the ladder is used up)."""
        if not self.hints:
            return None
        return self.hints[min(self.hints_given, len(self.hints) - 1)]


def known_values(problem_prompt: str, student_texts: list[str]) -> tuple[str, ...]:
    """Texts whose numbers the tutor may repeat without leaking anything: the problem as written
    and what the student said. Raw texts, as `find_answer_in_text` wants them (it matches a value
    written the same way, LaTeX fractions and number words included)."""
    return tuple(dict.fromkeys(t for t in (problem_prompt, *student_texts) if t))


def window_history(turns: list[HistoryTurn], budget_tokens: int = HISTORY_TOKEN_BUDGET) -> tuple[HistoryTurn, ...]:
    """The most recent turns that fit the token budget, oldest first."""
    kept: list[HistoryTurn] = []
    used = 0
    for turn in reversed(turns):
        cost = len(turn.text) // CHARS_PER_TOKEN + 4
        if kept and used + cost > budget_tokens:
            break
        kept.append(turn)
        used += cost
    return tuple(reversed(kept))


def lesson_excerpt(lesson: str, limit: int = 1200) -> str:
    if len(lesson) <= limit:
        return lesson
    cut = lesson.rfind("\n\n", 0, limit)
    return lesson[: cut if cut > limit // 2 else limit].rstrip() + "\n…"
