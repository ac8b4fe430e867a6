"""Factories for the cast of personas used across the suite."""

import factory

from tutor.models import Classroom, Enrollment, Organisation, User

PASSWORD = "correct-horse-battery"


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"School {n}")
    slug = factory.Sequence(lambda n: f"school-{n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    role = User.Role.STUDENT
    organisation = factory.SubFactory(OrganisationFactory)
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def saved(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class ClassroomFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Classroom

    teacher = factory.SubFactory(UserFactory, role=User.Role.TEACHER)
    organisation = factory.LazyAttribute(lambda c: c.teacher.organisation)
    name = factory.Sequence(lambda n: f"Class {n}")


class EnrollmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Enrollment

    classroom = factory.SubFactory(ClassroomFactory)
    student = factory.SubFactory(UserFactory)


class CourseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "curriculum.Course"
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"course-{n}")
    title = factory.Sequence(lambda n: f"Course {n}")
    grade_band = "6-8"


class UnitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "curriculum.Unit"

    course = factory.SubFactory(CourseFactory)
    code = factory.Sequence(lambda n: f"unit-{n}")
    title = factory.Sequence(lambda n: f"Unit {n}")


class SkillFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "curriculum.Skill"

    unit = factory.SubFactory(UnitFactory)
    course = factory.LazyAttribute(lambda s: s.unit.course)
    code = factory.Sequence(lambda n: f"skill-{n}")
    name = factory.Sequence(lambda n: f"Skill {n}")
    lesson = "To add fractions, first find a **common denominator**: $\\frac{1}{2} = \\frac{2}{4}$."


class ProblemFactory(factory.django.DjangoModelFactory):
    """1/2 + 1/4 = 3/4, with a three-rung hint ladder and the classic add-across misconception."""

    class Meta:
        model = "curriculum.Problem"

    skill = factory.SubFactory(SkillFactory)
    course = factory.LazyAttribute(lambda p: p.skill.course)
    code = factory.Sequence(lambda n: f"problem-{n}")
    prompt = "Work out $\\frac{1}{2} + \\frac{1}{4}$. Give your answer as a fraction."
    answer_spec = {"kind": "fraction", "value": "3/4", "allow": ["decimal"]}
    solution = "Write $\\frac{1}{2}$ as $\\frac{2}{4}$. Then $\\frac{2}{4} + \\frac{1}{4} = \\frac{3}{4}$."
    hints = [
        {"kind": "hint", "text": "Can you write both fractions with the same denominator?"},
        {"kind": "scaffold", "text": "How many quarters make one half?"},
        {"kind": "bottom_out", "text": "Rewrite one half in quarters, then add the numerators. What do you get?"},
    ]
    misconceptions = [
        {"code": "add-across", "answer": "2/6", "feedback": "You added the tops and the bottoms. The denominators must match first."}
    ]
    difficulty = 2
    grade = 6
