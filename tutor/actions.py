"""Writes about people and classes. Views, serializers and commands call these."""

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from tutor.errors import InvalidInput, NotFound
from tutor.models import Classroom, Enrollment, Organisation, User
from tutor.models.people import new_join_code, normalise_join_code


def sign_up_student(username: str, password: str, *, email: str = "", first_name: str = "") -> User:
    username = username.strip()
    if not username:
        raise InvalidInput("Choose a username.")
    if User.objects.filter(username__iexact=username).exists():
        raise InvalidInput("That username is taken.", code="username_taken")
    candidate = User(username=username, email=email.strip(), first_name=first_name.strip())
    try:
        validate_password(password, candidate)
    except ValidationError as error:
        raise InvalidInput(" ".join(error.messages), code="weak_password") from None
    candidate.set_password(password)
    candidate.role = User.Role.STUDENT
    candidate.save()
    return candidate


def create_classroom(teacher: User, name: str) -> Classroom:
    name = name.strip()
    if not name:
        raise InvalidInput("Give the class a name.")
    if not (teacher.is_teacher or teacher.is_org_admin) or teacher.organisation_id is None:
        raise InvalidInput("Only a teacher in an organisation can create a class.", code="not_a_teacher")
    for _ in range(5):
        try:
            with transaction.atomic():
                return Classroom.objects.create(
                    organisation_id=teacher.organisation_id, teacher=teacher, name=name, join_code=new_join_code()
                )
        except IntegrityError:
            continue  # join-code collision: draw again
    raise InvalidInput("Could not create a unique join code; try again.")


def regenerate_join_code(classroom: Classroom) -> str:
    for _ in range(5):
        code = new_join_code()
        if not Classroom.objects.filter(join_code=code).exists():
            Classroom.objects.filter(pk=classroom.pk).update(join_code=code)
            classroom.join_code = code
            return code
    raise InvalidInput("Could not create a unique join code; try again.")


@transaction.atomic
def join_classroom(student: User, raw_code: str) -> Enrollment:
    if not student.is_student:
        raise InvalidInput("Only students join classes with a code.", code="not_a_student")
    code = normalise_join_code(raw_code)
    if not code:
        raise InvalidInput("Type the class code your teacher gave you.", code="empty_code")
    classroom = Classroom.objects.active().filter(join_code=code).first()
    if classroom is None:
        raise NotFound(
            f"No class has the code {code}. Check it with your teacher: codes use letters and digits, no O or 0.",
            code="unknown_code",
        )
    if student.organisation_id is None:
        User.objects.filter(pk=student.pk).update(organisation_id=classroom.organisation_id)
        student.organisation_id = classroom.organisation_id
    enrollment, created = Enrollment.objects.get_or_create(classroom=classroom, student=student)
    if not created and enrollment.removed_at is not None:
        enrollment.removed_at = None
        enrollment.joined_at = timezone.now()
        enrollment.save(update_fields=["removed_at", "joined_at"])
    return enrollment


def remove_student(classroom: Classroom, student_id: int) -> None:
    updated = Enrollment.objects.filter(classroom=classroom, student_id=student_id, removed_at__isnull=True).update(
        removed_at=timezone.now()
    )
    if not updated:
        raise NotFound("That student is not in this class.")


def ensure_organisation(name: str, slug: str) -> Organisation:
    organisation, _ = Organisation.objects.get_or_create(slug=slug, defaults={"name": name})
    return organisation
