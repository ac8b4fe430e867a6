"""Permission-checked lookups: the only way an object is fetched for a request.

Each helper returns the object or raises Http404 (never 403), so that nobody can tell what exists
outside what they may see. HTML views and the API use the same helpers.
"""

from django.http import Http404

from tutor.models import Classroom, User


def classrooms_visible_to(user: User):
    if user.is_org_admin:
        return Classroom.objects.administered_by(user)
    if user.is_teacher:
        return Classroom.objects.taught_by(user)
    return Classroom.objects.attended_by(user)


def get_classroom_for_teacher(user: User, classroom_id: int) -> Classroom:
    """A classroom the user may manage: its teacher, or an admin of its organisation."""
    if user.is_teacher:
        queryset = Classroom.objects.taught_by(user)
    elif user.is_org_admin:
        queryset = Classroom.objects.administered_by(user)
    else:
        raise Http404
    try:
        return queryset.select_related("teacher", "organisation", "course").get(pk=classroom_id)
    except Classroom.DoesNotExist:
        raise Http404 from None


def students_visible_to(user: User):
    if user.is_org_admin:
        return User.objects.students().administered_by(user)
    if user.is_teacher:
        return User.objects.students().filter(
            enrollments__classroom__teacher=user, enrollments__removed_at__isnull=True
        ).distinct()
    return User.objects.filter(pk=user.pk)


def get_student_for_viewer(user: User, student_id: int) -> User:
    """A student whose data the user may read: themself, their teacher, or their organisation's admin."""
    try:
        return students_visible_to(user).get(pk=student_id, role=User.Role.STUDENT)
    except User.DoesNotExist:
        raise Http404 from None


def get_session_for_student(user: User, session_id: int):
    """A tutoring session the user may write to: only its own student."""
    from tutor.models import TutoringSession

    try:
        return TutoringSession.objects.select_related("problem__skill").get(pk=session_id, student=user)
    except TutoringSession.DoesNotExist:
        raise Http404 from None


def get_session_for_viewer(user: User, session_id: int):
    """A tutoring session the user may read: its student, their teacher, their organisation's admin."""
    from tutor.models import TutoringSession

    try:
        return TutoringSession.objects.select_related("problem__skill", "student").get(
            pk=session_id, student__in=students_visible_to(user)
        )
    except TutoringSession.DoesNotExist:
        raise Http404 from None


def get_student_message(user: User, message_id: int):
    from tutor.models import Message

    try:
        return Message.objects.select_related("session").get(pk=message_id, session__student=user)
    except Message.DoesNotExist:
        raise Http404 from None
