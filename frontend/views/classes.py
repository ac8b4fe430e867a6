"""Teacher pages for managing classes: list, create, roster, join code, remove a student."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from frontend.views import SignedInRequest, teacher
from tutor import access, actions
from tutor.errors import DomainError
from tutor.models import User


def _require_teacher(user: User) -> None:
    if not (user.is_teacher or user.is_org_admin):
        raise Http404


@login_required
def teacher_classes(request: SignedInRequest) -> HttpResponse:
    _require_teacher(request.user)
    error = None
    if request.method == "POST":
        try:
            classroom = actions.create_classroom(request.user, request.POST.get("name", ""))
        except DomainError as failure:
            error = failure.message
        else:
            messages.success(request, f"Created {classroom.name}. Its join code is {classroom.join_code}.")
            return redirect("teacher-class", classroom.id)
    classrooms = access.classrooms_visible_to(request.user).select_related("course").annotate(
        n_students=Count("enrollments", filter=Q(enrollments__removed_at__isnull=True))
    )
    return render(
        request, "frontend/teacher_classes.html", {"classrooms": classrooms, "error": error}, status=400 if error else 200
    )


@login_required
def teacher_class(request: SignedInRequest, classroom_id: int) -> HttpResponse:
    """The class dashboard (heatmap, summary, who needs help, flag queue), then code and roster."""
    classroom = access.get_classroom_for_teacher(request.user, classroom_id)
    context = {"classroom": classroom, **teacher.dashboard_context(request, classroom)}
    return render(request, "frontend/teacher_class.html", context)


@login_required
@require_POST
def regenerate_code(request: SignedInRequest, classroom_id: int) -> HttpResponse:
    classroom = access.get_classroom_for_teacher(request.user, classroom_id)
    code = actions.regenerate_join_code(classroom)
    messages.success(request, f"New join code: {code}. The old code no longer works.")
    return redirect("teacher-class", classroom.id)


@login_required
@require_POST
def remove_student(request: SignedInRequest, classroom_id: int, student_id: int) -> HttpResponse:
    classroom = access.get_classroom_for_teacher(request.user, classroom_id)
    try:
        actions.remove_student(classroom, student_id)
    except DomainError as error:
        raise Http404 from error
    messages.success(request, "Student removed from the class. Their work is kept.")
    return redirect("teacher-class", classroom.id)
