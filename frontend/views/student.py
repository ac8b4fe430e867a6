"""Student pages: practice a problem with the tutor."""

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import render

from frontend.views import SignedInRequest
from tutor import tutoring
from tutor.errors import NotFound
from tutor.models import Mastery, Message


def _require_student(request: SignedInRequest) -> None:
    if not request.user.is_student:
        raise Http404


@login_required
def practice(request: SignedInRequest, problem_id: int) -> HttpResponse:
    _require_student(request)
    try:
        session = tutoring.start_session(request.user, problem_id)
    except NotFound:
        raise Http404 from None
    problem = session.problem
    messages = session.messages.exclude(role=Message.Role.TUTOR, status=Message.Status.FAILED).prefetch_related(
        "ratings"
    )
    pending = session.messages.filter(role=Message.Role.STUDENT).exclude(status=Message.Status.COMPLETE).last()
    mastery = Mastery.objects.filter(student=request.user, skill=problem.skill).first()
    context = {
        "session": session,
        "problem": problem,
        "skill": problem.skill,
        "chat": messages,
        "pending": pending,
        "mastery": mastery,
        "max_chars": tutoring.settings.TUTOR_MAX_MESSAGE_CHARS,
    }
    return render(request, "frontend/student/practice.html", context)


@login_required
def practice_outcome(request: SignedInRequest, session_id: int) -> HttpResponse:
    """The panel shown once a problem is solved: the mastery change and what to do next."""
    from tutor import access
    from tutor.mastery.selection import next_problem
    from tutor.models import MasteryChange

    _require_student(request)
    session = access.get_session_for_student(request.user, session_id)
    if not session.is_solved:
        return HttpResponse("")
    skill = session.problem.skill
    changes = MasteryChange.objects.filter(mastery__student=request.user, mastery__skill=skill, attempt__session=session)
    change = changes.order_by("created_at").first()
    mastery = Mastery.objects.filter(student=request.user, skill=skill).first()
    recommendation = next_problem(request.user, session.problem.course)
    context = {"session": session, "change": change, "mastery": mastery, "recommendation": recommendation}
    return render(request, "frontend/student/_outcome.html", context)


def _course_overview(student, course) -> dict:
    from curriculum.models import Skill
    from tutor.mastery.selection import next_problem

    skills = list(Skill.objects.active().in_course(course).select_related("unit").order_by("unit__position", "position"))
    masteries = {m.skill_id: m for m in Mastery.objects.for_student(student).filter(skill__course=course)}
    rows = [{"skill": skill, "mastery": masteries.get(skill.pk)} for skill in skills]
    return {
        "course": course,
        "rows": rows,
        "recommendation": next_problem(student, course),
        "reviews_due": [m for m in masteries.values() if m.level == "mastered" and not m.is_retained()],
        "n_mastered": sum(1 for m in masteries.values() if m.level == "mastered"),
    }


def student_home(request: SignedInRequest) -> HttpResponse:
    from tutor import access

    classrooms = list(access.classrooms_visible_to(request.user).select_related("teacher", "course"))
    courses = {c.course_id: c.course for c in classrooms if c.course_id}
    overviews = [_course_overview(request.user, course) for course in courses.values()]
    return render(request, "frontend/student/home.html", {"classrooms": classrooms, "overviews": overviews})


@login_required
def progress(request: SignedInRequest) -> HttpResponse:
    """Every skill with its level, history and a chart of mastery over time."""
    from frontend.charts import mastery_line
    from tutor.models import MasteryChange

    _require_student(request)
    masteries = list(
        Mastery.objects.for_student(request.user).select_related("skill__unit", "skill__course")
        .order_by("skill__course__title", "skill__unit__position", "skill__position")
    )  # fmt: skip
    history: dict[int, list[MasteryChange]] = {}
    for change in MasteryChange.objects.filter(mastery__in=masteries).select_related("attempt__problem"):
        history.setdefault(change.mastery_id, []).append(change)
    rows = []
    for mastery in masteries:
        changes = history.get(mastery.pk, [])
        points = [changes[0].p_before, *(c.p_after for c in changes)] if changes else [mastery.p_known]
        label = f"{mastery.skill.name}: mastery from {points[0]:.0%} to {points[-1]:.0%} over {len(changes)} attempts"
        rows.append({"mastery": mastery, "changes": changes[-5:][::-1], "chart": mastery_line(points, label=label)})
    return render(request, "frontend/student/progress.html", {"rows": rows})
