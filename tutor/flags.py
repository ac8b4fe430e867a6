"""A teacher resolves a flag on a conversation (moderation, distress, answer-leak guard,
thumbs-down) with a note. Who resolved it and when are kept on the flag: the audit trail."""

from django.utils import timezone

from tutor import access
from tutor.errors import Conflict, InvalidInput, NotFound
from tutor.models import Flag, User

NOTE_MAX_CHARS = 2000


def resolve_flag(teacher: User, flag: Flag, note: str) -> Flag:
    """Mark ``flag`` resolved by ``teacher`` with ``note``.

    Only the teacher of one of the student's classes (or their organisation's admin) may; anyone
    else gets NotFound. One conditional UPDATE claims the flag, so of two teachers resolving it
    at once exactly one wins and the other gets Conflict; a resolved flag is never overwritten.
    """
    note = note.strip()
    if not note:
        raise InvalidInput(
            "Write a short note: what you saw and what you did.", code="note_required"
        )
    if len(note) > NOTE_MAX_CHARS:
        raise InvalidInput(
            f"Keep the note under {NOTE_MAX_CHARS} characters.", code="note_too_long"
        )
    if not (teacher.is_teacher or teacher.is_org_admin):
        raise NotFound("No such flag.")
    theirs = Flag.objects.filter(
        pk=flag.pk,
        session__student__in=access.students_visible_to(teacher).values("pk"),
    )
    now = timezone.now()
    claimed = theirs.filter(resolved_at__isnull=True).update(
        resolved_at=now, resolved_by=teacher, resolution_note=note
    )
    if not claimed:
        if not theirs.exists():
            raise NotFound("No such flag.")
        raise Conflict("This flag was already resolved.", code="already_resolved")
    flag.resolved_at, flag.resolved_by, flag.resolution_note = now, teacher, note
    return flag
