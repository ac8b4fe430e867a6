"""Celery tasks for mastery tracking: the nightly (and on-demand) parameter fit.

Tasks take ids, call one action and are safe to run twice: the fit is deterministic, so a
second run over the same attempts writes the same parameters.
"""

from celery import shared_task

from tutor.mastery.refit import refit_skills


@shared_task(
    name="tutor.mastery.fit_all_skills",
    ignore_result=True,
    acks_late=True,
    soft_time_limit=20 * 60,
    time_limit=21 * 60,
)
def fit_all_skills(course_id: int | None = None) -> None:
    """Refit the BKT parameters of one course's skills, or of every skill (nightly: no argument)."""
    from curriculum.models import Course

    course = None
    if course_id is not None:
        course = Course.objects.filter(pk=course_id).first()
        if course is None:
            return  # deleted since it was enqueued
    refit_skills(course)
