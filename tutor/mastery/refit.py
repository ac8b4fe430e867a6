"""Fit every skill's BKT parameters from the attempt log and write them to the Skill rows.

The data is what the online update sees (``tutor.mastery.tracking``): scored attempts only, a
correct answer after hints counted as wrong, one sequence per (student, skill) in the order the
attempts were made, and a problem's attempt counted for each skill it is tagged with.

The fit itself is ``tutor.mastery.fit``: a pooled fit over all the sequences in scope, then one
EM fit per skill with guess and slip bounded, degenerate fits replaced by the pooled parameters
and every skill shrunk toward the pooled parameters by ``n / (n + shrink_k)`` attempts. A skill
with fewer than ``min_attempts`` scored attempts is not refitted: it keeps the parameters it has
(authored, default, or an earlier fit). The fit is deterministic (fixed seed), so running it twice
on the same data writes the same numbers.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone

from tutor.mastery import fit
from tutor.mastery.tracking import observed_correct
from tutor.models import Attempt

if TYPE_CHECKING:
    from curriculum.models import Course

log = logging.getLogger(__name__)

MIN_ATTEMPTS = (
    10  # below this a skill keeps its parameters; above, shrinkage does the rest
)
BKT_FIELDS = [
    "bkt_prior",
    "bkt_learn",
    "bkt_guess",
    "bkt_slip",
    "bkt_forget",
    "bkt_fitted_at",
    "bkt_fit_attempts",
]


def attempt_sequences(course: Course | None = None) -> dict[int, list[list[bool]]]:
    """Skill id -> one list of observed answers per student, in order. Scored attempts only."""
    from curriculum.models import Problem

    problems = (
        Problem.objects.all()
        if course is None
        else Problem.objects.filter(course=course)
    )
    tags: dict[int, list[int]] = defaultdict(list)
    for problem_id, skill_id in problems.values_list("id", "skill_id"):
        tags[problem_id].append(skill_id)
    through = Problem.also_skills.through.objects.filter(problem__in=problems)
    for problem_id, skill_id in through.values_list("problem_id", "skill_id"):
        if skill_id not in tags[problem_id]:
            tags[problem_id].append(skill_id)
    attempts = Attempt.objects.filter(scored=True, problem__in=problems).order_by(
        "student_id", "created_at", "id"
    )
    by_skill: dict[int, dict[int, list[bool]]] = defaultdict(dict)
    rows = attempts.values_list("student_id", "problem_id", "correct", "hints_used")
    for student_id, problem_id, correct, hints_used in rows.iterator(chunk_size=5000):
        observed = observed_correct(correct, hints_used)
        for skill_id in tags[problem_id]:
            by_skill[skill_id].setdefault(student_id, []).append(observed)
    return {
        skill_id: list(students.values()) for skill_id, students in by_skill.items()
    }


def refit_skills(
    course: Course | None = None,
    *,
    min_attempts: int = MIN_ATTEMPTS,
    forgetting: bool = True,
) -> dict[str, Any]:
    """Refit the skills of ``course`` (all courses when None) and save them; returns a report.

    The report (JSON-friendly): ``{"course", "n_attempts", "pooled": params | None, "skills":
    {skill code (course code/skill code for all courses): {"id", "n_attempts", "source",
    "reason", "params"}}}`` where source is
    "fitted", "pooled" (the skill's fit was degenerate: reason says why) or "kept" (too little
    data). Skills with no scored attempt are not listed.
    """
    from curriculum.models import Skill

    sequences = attempt_sequences(course)
    skills = Skill.objects.filter(pk__in=list(sequences))
    if course is not None:
        skills = skills.filter(course=course)
    counts = {
        skill_id: sum(len(s) for s in seqs) for skill_id, seqs in sequences.items()
    }
    report: dict[str, Any] = {
        "course": course.code if course else None,
        "n_attempts": sum(counts.values()),
        "pooled": None,
        "skills": {},
    }
    if report["n_attempts"] < min_attempts:
        return report
    pooled = fit.fit_pooled(sequences, forgetting=forgetting).params
    report["pooled"] = pooled.as_dict()
    eligible = {
        skill_id: seqs
        for skill_id, seqs in sequences.items()
        if counts[skill_id] >= min_attempts
    }
    results = fit.fit_all(eligible, pooled=pooled, forgetting=forgetting)
    now = timezone.now()
    with transaction.atomic():
        changed = []
        for skill in (
            skills.select_related("course")
            .select_for_update(of=("self",))
            .order_by("pk")
        ):
            result = results.get(skill.pk)
            entry: dict[str, Any] = {
                "id": skill.pk,
                "n_attempts": counts[skill.pk],
                "reason": None,
            }
            if result is None:
                entry["source"] = "kept"
            else:
                entry["source"] = "pooled" if result.rejected_reason else "fitted"
                entry["reason"] = result.rejected_reason
                for name, value in result.params.as_dict().items():
                    setattr(skill, f"bkt_{name}", value)
                skill.bkt_fitted_at = now
                skill.bkt_fit_attempts = result.n_attempts
                changed.append(skill)
            entry["params"] = skill.bkt_params
            report["skills"][
                skill.code if course else f"{skill.course.code}/{skill.code}"
            ] = entry
        Skill.objects.bulk_update(changed, BKT_FIELDS)
    log.info(
        "refit %s: %d attempts, %d skills fitted",
        report["course"] or "all courses",
        report["n_attempts"],
        len(changed),
    )
    return report


def request_refit(course: Course | None = None) -> None:
    """Enqueue a refit of ``course`` (or of every course) once the current transaction commits."""
    from tutor.mastery.tasks import fit_all_skills

    course_id = course.pk if course is not None else None
    transaction.on_commit(lambda: fit_all_skills.delay(course_id))
