"""Teacher pages: a class's dashboard (heatmap, summary, who needs help, flag queue), a student's
drill-down, read-only transcripts, resolving a flag, and the CSV exports.

Every view starts with ``access.get_classroom_for_teacher`` (404 unless the class is theirs) and
then reads through ``tutor.dashboards``, which runs a fixed number of queries per page.
"""

import csv
import html
import io
from typing import cast
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import slugify
from django.views.decorators.http import require_POST, require_safe

from frontend.charts import mastery_line
from tutor import access, dashboards, flags
from tutor.errors import Conflict, DomainError, NotFound
from tutor.models import Classroom, User

QUEUE_PREVIEW = 5
FLAGS_PER_PAGE = 20
FLAG_STATUSES = [("open", "Open"), ("resolved", "Resolved"), ("all", "All")]


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)  # @login_required ran first


def _classroom(request: HttpRequest, classroom_id: int) -> Classroom:
    return access.get_classroom_for_teacher(_user(request), classroom_id)


def _load(classroom: Classroom, unit: str = "") -> dashboards.ClassView:
    try:
        return dashboards.load_class(classroom, unit=unit)
    except NotFound:
        raise Http404 from None


# --- the class dashboard ---------------------------------------------------------------------


HEATMAP_PARAMS = ("unit", "sort", "skill", "dir", "columns")


def _query(params: dict, **changes) -> str:
    """A query string of the heatmap's parameters, always in the same order."""
    merged = {**params, **changes}
    return "?" + urlencode([(k, merged[k]) for k in HEATMAP_PARAMS if merged.get(k)])


def _sort_link(params: dict, current: dict, **target) -> tuple[str, str | None]:
    """The URL that sorts by ``target`` (toggling the direction when it is already the sort), and
    the column's aria-sort value."""
    active = all(current.get(k, "") == v for k, v in target.items())
    direction = "" if not active or current.get("dir") == "desc" else "desc"
    aria = None
    if active:
        aria = "descending" if current.get("dir") == "desc" else "ascending"
    return _query(params, dir=direction, **target) + "#heatmap", aria


def _cells_html(row: dashboards.HeatmapRow, skill_names: dict[int, str]) -> SafeString:
    """A row's cells, built here rather than in the template (1,200 cells at 40 x 30), with the
    standard library's escaping: format_html per cell cost a quarter of the page's time. Each cell
    says its level in a letter (and in words for screen readers and the tooltip), never by colour
    alone. ``skill_names`` holds each shown skill's name, escaped once for the whole grid."""
    cells = []
    for c in row.cells:
        description = html.escape(c.description)
        overdue = " overdue" if c.review_overdue else ""
        cells.append(
            f'<td class="lvl lvl-{c.level}{overdue}" title="{skill_names[c.skill.pk]}: {description}">'
            f'<span aria-hidden="true">{c.cue}</span><span class="visually-hidden">{description}</span></td>'
        )
    return mark_safe("".join(cells))


def _student_links(classroom: Classroom, students: list[User]) -> dict[int, dict]:
    """Each student's name and links, reversed once: the class page shows every student three
    times (heatmap, needs help, roster) and each {% url %} cost 40 µs."""
    return {
        s.pk: {
            "id": s.pk,
            "name": s.display_name,
            "username": s.username,
            "url": reverse("teacher-class-student", args=[classroom.pk, s.pk]),
            "remove_url": reverse("teacher-class-remove-student", args=[classroom.pk, s.pk]),
        }
        for s in students
    }


def dashboard_context(request: HttpRequest, classroom: Classroom) -> dict:
    """Everything the class page shows above the join code and roster (and the roster itself)."""
    params = {k: request.GET.get(k, "") for k in HEATMAP_PARAMS}
    view = _load(classroom, params["unit"])
    summary = dashboards.class_summary(view)
    grid = dashboards.heatmap(
        view, summary, sort=params["sort"], skill=params["skill"], descending=params["dir"] == "desc",
        columns=params["columns"],
    )  # fmt: skip
    current = {
        "sort": grid.sort,
        "skill": grid.sort_skill.code if grid.sort_skill else "",
        "dir": "desc" if grid.descending else "",
    }
    keep = {
        "unit": params["unit"],
        "columns": params["columns"] if grid.columns != "course" else "",
    }
    columns = []
    for skill in grid.skills:
        url, aria = _sort_link(keep, current, sort="skill", skill=skill.code)
        columns.append(
            {
                "skill": skill,
                "summary": grid.summary[skill.pk],
                "url": url,
                "aria_sort": aria,
            }
        )
    skill_names = {skill.pk: html.escape(skill.name) for skill in grid.skills}
    links = _student_links(classroom, view.students)
    rows = [
        {"row": row, "student": links[row.student.pk], "cells": _cells_html(row, skill_names)}
        for row in grid.rows
    ]
    name_url, name_aria = _sort_link(keep, current, sort="name", skill="")
    progress_url, progress_aria = _sort_link(keep, current, sort="mastery", skill="")
    return {
        "view": view,
        "students": view.students,
        "summary": summary,
        "grid": grid,
        "rows": rows,
        "columns": columns,
        "sort_name": {"url": name_url, "aria_sort": name_aria},
        "sort_progress": {"url": progress_url, "aria_sort": progress_aria},
        "needs_help": [
            {"student": links[h.student.pk], "reasons": h.reasons} for h in dashboards.needs_help(view)
        ],
        "roster": list(links.values()),
        "queue": dashboards.open_flags_preview(classroom, QUEUE_PREVIEW),
        "levels": [
            (level, dashboards.LEVEL_CUES[level]) for level in dashboards.LEVEL_CUES
        ],
    }


# --- one student -----------------------------------------------------------------------------


@login_required
@require_safe
def student(request: HttpRequest, classroom_id: int, student_id: int) -> HttpResponse:
    classroom = _classroom(request, classroom_id)
    try:
        pupil = dashboards.get_class_student(classroom, student_id)
    except NotFound:
        raise Http404 from None
    view = _load(classroom)
    detail = dashboards.student_detail(view, pupil)
    skills = []
    for row in detail.skills:
        chart = ""
        if row.points:
            label = (
                f"{row.skill.name}: mastery from {row.points[0]:.0%} to {row.points[-1]:.0%} "
                f"over {row.n_changes} scored attempt{'s' * (row.n_changes != 1)}"
            )
            chart = mastery_line(row.points, label=label)
        skills.append(
            {
                "row": row,
                "chart": chart,
                "cell": dashboards.Cell(row.skill, row.mastery, view.now),
            }
        )
    attempts = [
        {
            "attempt": a,
            "feedback": dashboards.misconception_feedback(
                a.problem, a.misconception_code
            ),
        }
        for a in detail.attempts
    ]
    context = {
        "classroom": classroom,
        "student": pupil,
        "detail": detail,
        "skills": skills,
        "attempts": attempts,
    }
    return render(request, "frontend/teacher/student.html", context)


@login_required
@require_safe
def conversation(
    request: HttpRequest, classroom_id: int, student_id: int, session_id: int
) -> HttpResponse:
    """A transcript, read-only: every tutor reply with the release and prompt version that wrote it."""
    classroom = _classroom(request, classroom_id)
    try:
        pupil = dashboards.get_class_student(classroom, student_id)
        session = dashboards.get_class_session(classroom, session_id, student=pupil)
    except NotFound:
        raise Http404 from None
    transcript = dashboards.transcript(session)
    session_flags = sorted(
        (f for m in transcript for f in m.flags.all()),
        key=lambda f: (f.resolved_at is not None, f.pk),
    )
    context = {
        "classroom": classroom,
        "student": pupil,
        "session": session,
        "transcript": transcript,
        "flags": session_flags,
        "note_max": flags.NOTE_MAX_CHARS,
    }
    return render(request, "frontend/teacher/conversation.html", context)


# --- flags -----------------------------------------------------------------------------------


@login_required
@require_safe
def flag_queue(request: HttpRequest, classroom_id: int) -> HttpResponse:
    classroom = _classroom(request, classroom_id)
    status = request.GET.get("status", "open")
    queue = dashboards.class_flags(classroom)
    if status == "resolved":
        queue = queue.filter(resolved_at__isnull=False).order_by("-resolved_at", "-pk")
    elif status == "all":
        pass
    else:
        status = "open"
        queue = queue.filter(resolved_at__isnull=True)
    page = Paginator(queue, FLAGS_PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "classroom": classroom,
        "page": page,
        "status": status,
        "statuses": FLAG_STATUSES,
    }
    return render(request, "frontend/teacher/flags.html", context)


@login_required
@require_POST
def resolve_flag(request: HttpRequest, classroom_id: int, flag_id: int) -> HttpResponse:
    classroom = _classroom(request, classroom_id)
    try:
        flag = dashboards.get_class_flag(classroom, flag_id)
    except NotFound:
        raise Http404 from None
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        back = reverse("teacher-class-flags", args=[classroom.pk])
    try:
        flags.resolve_flag(_user(request), flag, request.POST.get("note", ""))
    except Conflict as failure:
        messages.info(request, failure.message)
    except NotFound:
        raise Http404 from None
    except DomainError as failure:
        messages.error(request, failure.message)
        return redirect(f"{back}#flag-{flag.pk}")
    else:
        messages.success(
            request,
            f"{flag.get_kind_display()} flag resolved. Your note is kept with it.",
        )
    return redirect(back)


# --- CSV exports -----------------------------------------------------------------------------


def _csv_response(classroom: Classroom, what: str, rows) -> HttpResponse:
    buffer = io.StringIO()
    buffer.write("\ufeff")  # so that spreadsheets read the names as UTF-8
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow([dashboards.csv_safe(value) for value in row])
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    filename = f"{slugify(classroom.name) or 'class'}-{what}-{timezone.localdate():%Y-%m-%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
@require_safe
def export_mastery(request: HttpRequest, classroom_id: int) -> HttpResponse:
    classroom = _classroom(request, classroom_id)
    return _csv_response(
        classroom, "mastery", dashboards.mastery_rows(_load(classroom))
    )


@login_required
@require_safe
def export_attempts(request: HttpRequest, classroom_id: int) -> HttpResponse:
    classroom = _classroom(request, classroom_id)
    return _csv_response(
        classroom, "attempts", dashboards.attempt_rows(_load(classroom))
    )
