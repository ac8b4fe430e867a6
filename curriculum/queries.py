"""Curriculum lookups for a request: the only way content is fetched for a user.

Every signed-in user may read the active curriculum (courses, skills, lessons, problem prompts).
Answers, worked solutions, hint ladders and misconceptions are for teachers and admins only:
`can_see_answers(user)` is the one rule that the API and the pages both apply. Lookups raise
Http404 for anything unknown or retired.
"""

from django.db.models import Count, Prefetch, Q
from django.http import Http404

from curriculum.models import Course, Problem, Skill, Unit


def can_see_answers(user) -> bool:
    return bool(
        user.is_authenticated
        and (user.is_teacher or user.is_org_admin or user.is_superuser)
    )


def courses_visible_to(user):
    return Course.objects.active().annotate(
        n_units=Count("units", filter=Q(units__retired_at__isnull=True), distinct=True),
        n_skills=Count(
            "skills", filter=Q(skills__retired_at__isnull=True), distinct=True
        ),
    )


def get_course_for_user(user, code: str) -> Course:
    try:
        return Course.objects.active().get(code=code)
    except Course.DoesNotExist:
        raise Http404 from None


def skills_in_course(course: Course):
    """Active skills in course order, with their active prerequisites' codes prefetched."""
    return (
        Skill.objects.active()
        .filter(course=course)
        .select_related("unit")
        .prefetch_related(
            Prefetch(
                "prerequisites",
                queryset=Skill.objects.active().only("id", "code", "name"),
            )
        )
        .order_by("unit__position", "position", "id")
    )


def units_in_course(course: Course):
    return (
        Unit.objects.active()
        .filter(course=course)
        .prefetch_related(
            Prefetch(
                "skills", queryset=Skill.objects.active().order_by("position", "id")
            )
        )
        .order_by("position", "id")
    )


def get_skill_for_user(user, course: Course, code: str) -> Skill:
    try:
        return skills_in_course(course).get(code=code)
    except Skill.DoesNotExist:
        raise Http404 from None


def problems_of_skill(skill: Skill):
    return Problem.objects.active().filter(skill=skill).order_by("position", "id")
