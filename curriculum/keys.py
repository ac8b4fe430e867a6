"""Stored JSON (a problem's `answer_spec` and `misconceptions`) -> the checker's AnswerKey.

Tolerant of missing optional keys, and of numbers where strings are expected (rows edited in the
admin, or written before the format required quoted answers).
"""

from collections.abc import Iterable, Mapping
from typing import Any

from curriculum.checking.spec import AnswerKey, AnswerSpec, Misconception


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


def _texts(values: Any) -> tuple[str, ...]:
    if values is None:
        return ()
    if isinstance(values, str | int | float):
        values = [values]
    return tuple(str(value) for value in values)


def answer_spec_from_data(data: Mapping[str, Any]) -> AnswerSpec:
    tolerance = data.get("tolerance")
    return AnswerSpec(
        kind=str(data.get("kind", "")),
        value=_text(data.get("value")) or "",
        tolerance=float(tolerance) if tolerance is not None else None,
        allow=_texts(data.get("allow")),
        choices=_texts(data.get("choices")),
        accept=_texts(data.get("accept")),
        variable=_text(data.get("variable")),
    )


def misconception_from_data(data: Mapping[str, Any]) -> Misconception:
    return Misconception(
        code=str(data.get("code", "")),
        feedback=str(data.get("feedback", "")),
        answer=_text(data.get("answer")),
        pattern=_text(data.get("pattern")),
    )


def answer_key_from_data(
    answer_spec: Mapping[str, Any],
    misconceptions: Iterable[Mapping[str, Any]] | None = (),
) -> AnswerKey:
    return AnswerKey(
        spec=answer_spec_from_data(answer_spec or {}),
        misconceptions=tuple(
            misconception_from_data(item) for item in misconceptions or ()
        ),
    )
