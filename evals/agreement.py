"""Agreement between our graders and human labels (MRBench), plus grading of JSONL files.

MRBench (Maurya et al., NAACL 2025; CC BY-SA 4.0) labels tutor replies to grade-school maths
dialogues on eight pedagogical dimensions. We never copy the data into the repository: every
function takes a path given by the user, and the tests use small hand-written records.

Mapping of our graders to MRBench dimensions (``grade_record``):

| MRBench dimension        | our grader                | rule                                              |
|--------------------------|---------------------------|---------------------------------------------------|
| Mistake_Identification   | mistake_identification    | its label (Yes / To some extent / No)             |
| Mistake_Location         | mistake_location          | its label                                         |
| Revealing_of_the_Answer  | answer_leak               | leak -> "Yes (and the answer is correct)",        |
|                          |                           | leak_incorrect -> "Yes (but ... incorrect)", else No |
| Providing_Guidance       | telling (+ mistake, leak) | see ``_guidance``                                 |
| Actionability            | telling                   | see ``_actionability``                            |
| Tutor_Tone               | tone                      | encouraging / neutral / offensive                 |
| humanlikeness            | naturalness               | pass -> Yes, fail -> No                           |
| Coherence                | (none)                    | not predicted                                     |
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from evals.graders import grade_all
from evals.graders.base import Grade, GradeInput, Turn

DIMENSIONS = (
    "Mistake_Identification",
    "Mistake_Location",
    "Revealing_of_the_Answer",
    "Providing_Guidance",
    "Actionability",
    "Coherence",
    "Tutor_Tone",
    "humanlikeness",
)
PREDICTED = (
    "Mistake_Identification",
    "Mistake_Location",
    "Revealing_of_the_Answer",
    "Providing_Guidance",
    "Actionability",
    "Tutor_Tone",
    "humanlikeness",
)
REVEALED_CORRECT = "Yes (and the answer is correct)"
REVEALED_INCORRECT = "Yes (but the answer is incorrect)"
LABELS: dict[str, tuple[str, ...]] = {
    "Revealing_of_the_Answer": ("No", REVEALED_CORRECT, REVEALED_INCORRECT),
    "Tutor_Tone": ("Encouraging", "Neutral", "Offensive"),
}
YES_SOME_NO = ("Yes", "To some extent", "No")
GRADERS_USED = (
    "answer_leak",
    "telling",
    "mistake_identification",
    "mistake_location",
    "tone",
    "naturalness",
)


# ---------------------------------------------------------------- records


def load_records(path: str | Path) -> list[dict[str, Any]]:
    """One dict per non-empty line of a JSONL file."""
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


_TURN = re.compile(
    r"(?:^|\n)\s*(Tutor|Student|Teacher|Assistant|User)\s*:\s*", re.IGNORECASE
)
_ROLE = {
    "tutor": "tutor",
    "teacher": "tutor",
    "assistant": "tutor",
    "student": "student",
    "user": "student",
}


def parse_history(text: str | Sequence[Mapping[str, str]] | None) -> tuple[Turn, ...]:
    """Turns from "Tutor: ... \\n Student: ..." text (or from a list of {role, text|content})."""
    if not text:
        return ()
    if not isinstance(text, str):
        return tuple(
            Turn(
                _ROLE.get(str(t.get("role", "")).lower(), str(t.get("role", ""))),
                str(t.get("text", t.get("content", ""))),
            )
            for t in text
        )
    pieces = _TURN.split(text)
    turns: list[Turn] = []
    for i in range(1, len(pieces) - 1, 2):
        body = pieces[i + 1].strip()
        if body:
            turns.append(Turn(_ROLE[pieces[i].lower()], body))
    return tuple(turns)


def _problem_text(history: tuple[Turn, ...]) -> str | None:
    for turn in history:
        if turn.role == "tutor":
            m = re.search(
                r"(?:the\s+question\s+is|question)\s*:\s*(.+)",
                turn.text,
                re.IGNORECASE | re.DOTALL,
            )
            if m:
                return m.group(1).strip()
    return None


def _solution(record: Mapping[str, Any]) -> str | None:
    solution = record.get("ground_truth_solution")
    if not solution or str(solution).strip().lower() in (
        "not available",
        "none",
        "n/a",
    ):
        return None
    return str(solution)


def record_to_input(record: Mapping[str, Any]) -> GradeInput:
    """A GradeInput for one MRBench-style record.

    MRBench dialogues always end on a student mistake, so ``student_was_wrong`` is True unless the
    record says otherwise; the final answer is the last line of ``ground_truth_solution``.
    """
    history = parse_history(record.get("conversation_history"))
    solution = _solution(record)
    final_answer = (
        solution.strip().splitlines()[-1].strip()
        if solution
        else record.get("final_answer")
    )
    return GradeInput(
        response=str(record.get("response", "")),
        history=history,
        final_answer=final_answer or None,
        solution=solution,
        problem_text=record.get("problem_text") or _problem_text(history),
        student_solved=bool(record.get("student_solved", False)),
        student_was_wrong=record.get("student_was_wrong", True),
        grade_band=record.get("grade_band"),
        language=record.get("language"),
        scenario=record.get("scenario"),
    )


# ---------------------------------------------------------------- mapping


def _off_task(grades: Mapping[str, Grade]) -> bool:
    """Praise only, a bare verdict, or a reply unrelated to the dialogue."""
    return (
        grades["telling"].label == "none"
        or grades["mistake_identification"].label == "No"
    )


def _guidance(grades: Mapping[str, Grade]) -> str:
    """Providing_Guidance: a correct, relevant hint, explanation or question.

    Off-task (praise only, unrelated) -> No; the answer leaked -> To some extent (an explanation,
    but the work is done); a question or directive (asks / mixed) -> Yes; an explanation that
    names where the error is -> Yes, otherwise To some extent.
    """
    if _off_task(grades):
        return "No"
    if grades["answer_leak"].label.startswith("leak"):
        return "To some extent"
    if grades["telling"].label in ("asks", "mixed"):
        return "Yes"
    return "Yes" if grades["mistake_location"].label == "Yes" else "To some extent"


def _actionability(grades: Mapping[str, Grade]) -> str:
    """Actionability: is it clear what the student should do next?

    The answer leaked (nothing left to do) or off-task -> No; a question or a directive to the
    student (asks / mixed) -> Yes; an explanation without a next step (tells) -> To some extent.
    """
    if grades["answer_leak"].label.startswith("leak") or _off_task(grades):
        return "No"
    if grades["telling"].label in ("asks", "mixed"):
        return "Yes"
    return "To some extent"


def _location(grades: Mapping[str, Grade]) -> str:
    """Mistake_Location. MRBench annotators credit a location whenever the reply points at the
    operation or the numbers involved, so our "To some extent" (one of the two) maps to Yes."""
    label = grades["mistake_location"].label
    return "Yes" if label in ("Yes", "To some extent") else label


def labels_from_grades(grades: Mapping[str, Grade]) -> dict[str, str]:
    leak = grades["answer_leak"].label
    revealing = {"leak": REVEALED_CORRECT, "leak_incorrect": REVEALED_INCORRECT}.get(
        leak, "No"
    )
    tone = {"encouraging": "Encouraging", "offensive": "Offensive"}.get(
        grades["tone"].label, "Neutral"
    )
    natural = grades["naturalness"].passed
    return {
        "Mistake_Identification": grades["mistake_identification"].label,
        "Mistake_Location": _location(grades),
        "Revealing_of_the_Answer": revealing,
        "Providing_Guidance": _guidance(grades),
        "Actionability": _actionability(grades),
        "Tutor_Tone": tone,
        "humanlikeness": "No" if natural is False else "Yes",
    }


def grade_record(record: Mapping[str, Any]) -> dict[str, str]:
    """Predicted MRBench label per dimension for one record."""
    return labels_from_grades(grade_all(record_to_input(record), GRADERS_USED))


# ---------------------------------------------------------------- metrics


def confusion(
    y_true: Sequence[str], y_pred: Sequence[str], labels: Sequence[str]
) -> np.ndarray:
    index = {label: i for i, label in enumerate(labels)}
    matrix = np.zeros((len(labels), len(labels)), dtype=np.int64)
    for t, p in zip(y_true, y_pred, strict=True):
        matrix[index[t], index[p]] += 1
    return matrix


def macro_f1(
    y_true: Sequence[str], y_pred: Sequence[str], labels: Sequence[str] | None = None
) -> float:
    """Unweighted mean of per-class F1 over ``labels`` (default: classes present in either list).

    A class with no true and no predicted items scores 0, as in scikit-learn.
    """
    labels = list(labels) if labels is not None else sorted(set(y_true) | set(y_pred))
    m = confusion(y_true, y_pred, labels).astype(float)
    tp = np.diag(m)
    denom = m.sum(axis=0) + m.sum(axis=1)  # predicted + true = 2tp + fp + fn
    f1 = np.divide(2 * tp, denom, out=np.zeros_like(tp), where=denom > 0)
    return float(f1.mean()) if len(labels) else 0.0


def cohen_kappa(
    y_true: Sequence[str], y_pred: Sequence[str], labels: Sequence[str] | None = None
) -> float:
    """Cohen's kappa: (p_o - p_e) / (1 - p_e); 0 when chance agreement is already perfect."""
    labels = list(labels) if labels is not None else sorted(set(y_true) | set(y_pred))
    m = confusion(y_true, y_pred, labels).astype(float)
    n = m.sum()
    if n == 0:
        return 0.0
    p_o = np.trace(m) / n
    p_e = float((m.sum(axis=0) * m.sum(axis=1)).sum()) / (n * n)
    return 0.0 if p_e == 1 else float((p_o - p_e) / (1 - p_e))


def precision_recall(
    y_true: Sequence[str], y_pred: Sequence[str], positive: str
) -> tuple[float, float]:
    tp = sum(
        1
        for t, p in zip(y_true, y_pred, strict=True)
        if t == positive and p == positive
    )
    predicted = sum(1 for p in y_pred if p == positive)
    actual = sum(1 for t in y_true if t == positive)
    return (tp / predicted if predicted else 0.0, tp / actual if actual else 0.0)


def lenient(dimension: str, label: str) -> str:
    """Two-class view: for Revealing, any "Yes..." vs "No"; for tone, Offensive vs not; else
    "Yes" + "To some extent" vs "No"."""
    if dimension == "Revealing_of_the_Answer":
        return "Yes" if label.startswith("Yes") else "No"
    if dimension == "Tutor_Tone":
        return "Encouraging" if label == "Encouraging" else "Not encouraging"
    return "No" if label == "No" else "Yes"


def positive_class(dimension: str) -> str:
    return "Encouraging" if dimension == "Tutor_Tone" else "Yes"


def dimension_scores(
    dimension: str, y_true: Sequence[str], y_pred: Sequence[str]
) -> dict[str, float | int]:
    """n, exact 3-class macro-F1, lenient 2-class macro-F1, kappa (exact labels), and precision
    / recall of the lenient positive class ("revealed" for Revealing_of_the_Answer; "No" -
    the error case - is the negative class elsewhere)."""
    labels = LABELS.get(dimension, YES_SOME_NO)
    lt = [lenient(dimension, t) for t in y_true]
    lp = [lenient(dimension, p) for p in y_pred]
    if dimension == "Revealing_of_the_Answer":
        two = ("Yes", "No")
    elif dimension == "Tutor_Tone":
        two = ("Encouraging", "Not encouraging")
    else:
        two = ("Yes", "No")
    precision, recall = precision_recall(lt, lp, positive_class(dimension))
    return {
        "n": len(y_true),
        "exact_macro_f1": round(
            macro_f1(
                y_true, y_pred, [x for x in labels if x in set(y_true) | set(y_pred)]
            ),
            4,
        ),
        "lenient_macro_f1": round(macro_f1(lt, lp, two), 4),
        "kappa": round(cohen_kappa(y_true, y_pred, labels), 4),
        "precision": round(precision, 4),
        "recall": round(recall, 4),
    }


def agreement(
    records: Iterable[Mapping[str, Any]],
    predictions: Sequence[Mapping[str, str]] | None = None,
) -> dict[str, dict[str, float | int]]:
    """Per MRBench dimension we predict: agreement of our labels with the human ones.

    Records without a human label for a dimension are skipped for it. ``predictions`` (one dict
    per record) may be given to score another predictor, e.g. the learned grader.
    """
    records = list(records)
    if predictions is None:
        predictions = [grade_record(r) for r in records]
    out: dict[str, dict[str, float | int]] = {}
    for dimension in PREDICTED:
        pairs = [
            (r["labels"][dimension], p[dimension])
            for r, p in zip(records, predictions, strict=True)
            if r.get("labels", {}).get(dimension) is not None and dimension in p
        ]
        if not pairs:
            continue
        y_true, y_pred = zip(*pairs, strict=True)
        out[dimension] = dimension_scores(dimension, y_true, y_pred)
    return out


# ---------------------------------------------------------------- CLI helpers

_COLUMNS = ("n", "exact_macro_f1", "lenient_macro_f1", "kappa", "precision", "recall")


def format_table(scores: Mapping[str, Mapping[str, float | int]]) -> str:
    header = "| dimension | n | exact macro-F1 | lenient macro-F1 | kappa | precision | recall |"
    lines = [header, "|---|---:|---:|---:|---:|---:|---:|"]
    for dimension, row in scores.items():
        cells = [str(row["n"])] + [f"{row[c]:.3f}" for c in _COLUMNS[1:]]
        lines.append(f"| {dimension} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main_agreement(path: str | Path, as_json: bool = False) -> str:
    """The agreement table for a labelled JSONL file, or one JSON line."""
    scores = agreement(load_records(path))
    if as_json:
        return json.dumps(scores, sort_keys=True)
    return format_table(scores)


def grade_file(in_path: str | Path, out_path: str | Path) -> int:
    """Grade records of {conversation_history, response, optional ground_truth_solution, ...}.

    Writes one JSON line per record with every applicable grade and the MRBench-style labels;
    returns the number of records written.
    """
    count = 0
    with (
        open(in_path, encoding="utf-8") as src,
        open(out_path, "w", encoding="utf-8") as dst,
    ):
        for line in src:
            if not line.strip():
                continue
            record = json.loads(line)
            grades = grade_all(record_to_input(record))
            row = {
                "id": record.get("id", record.get("conversation_id")),
                "tutor": record.get("tutor"),
                "grades": {name: _grade_json(g) for name, g in grades.items()},
                "labels": labels_from_grades(grades),
            }
            dst.write(json.dumps(row, sort_keys=True) + "\n")
            count += 1
    return count


def _grade_json(grade: Grade) -> dict[str, Any]:
    return {
        "version": grade.version,
        "passed": grade.passed,
        "score": grade.score,
        "label": grade.label,
        "detail": grade.detail,
    }


# ---------------------------------------------------------------- learned grader (optional)

LEARNED_DIMENSIONS = (
    "Mistake_Identification",
    "Mistake_Location",
    "Revealing_of_the_Answer",
    "Providing_Guidance",
    "Actionability",
    "Tutor_Tone",
)


def learned_agreement(
    records: Sequence[Mapping[str, Any]],
    dimensions: Sequence[str] = LEARNED_DIMENSIONS,
    *,
    n_splits: int = 5,
    leak_target_recall: float | None = 0.95,
) -> dict[str, dict[str, float | int]]:
    """Cross-validated agreement of the learned grader (GroupKFold by conversation_id).

    One multi-class model per dimension; with ``leak_target_recall`` also a binary leak model
    whose threshold is tuned on inner folds to reach that recall, reported as
    ``Revealing_of_the_Answer@recall``.
    """
    from evals.graders import learned

    records = list(records)
    cache: dict[int, Any] = {}
    out: dict[str, dict[str, float | int]] = {}
    for dimension in dimensions:
        preds = learned.cross_validate(
            records, dimension, to_input=record_to_input, n_splits=n_splits, cache=cache
        )
        pairs = [
            (r["labels"][dimension], p)
            for r, p in zip(records, preds, strict=True)
            if p is not None
        ]
        y_true, y_pred = zip(*pairs, strict=True)
        out[dimension] = dimension_scores(dimension, y_true, y_pred)
    if leak_target_recall is not None and "Revealing_of_the_Answer" in dimensions:
        dimension = "Revealing_of_the_Answer"
        preds = learned.cross_validate(
            records,
            dimension,
            to_input=record_to_input,
            n_splits=n_splits,
            binary=True,
            target_recall=leak_target_recall,
            cache=cache,
        )
        pairs = [
            (r["labels"][dimension], REVEALED_CORRECT if p == "Yes" else "No")
            for r, p in zip(records, preds, strict=True)
            if p is not None
        ]
        y_true, y_pred = zip(*pairs, strict=True)
        out[f"{dimension}@recall{leak_target_recall:g}"] = dimension_scores(
            dimension, y_true, y_pred
        )
    return out


def main_learned(path: str | Path, as_json: bool = False, n_splits: int = 5) -> str:
    """Cross-validated figures of the learned grader trained at run time on ``path``."""
    scores = learned_agreement(load_records(path), n_splits=n_splits)
    return json.dumps(scores, sort_keys=True) if as_json else format_table(scores)
