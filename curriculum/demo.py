"""Demo step: import the demo course (idempotent: a second run changes nothing) and give it to the class."""

from collections.abc import Callable
from pathlib import Path

from curriculum.importer import import_course
from curriculum.models import Course
from tutor.models import Classroom

DEMO_COURSE_DIR = Path(__file__).resolve().parent / "content" / "middle-school-math"


def seed_curriculum(classroom: Classroom, log: Callable[[str], None]) -> Course:
    report = import_course(DEMO_COURSE_DIR)
    course = Course.objects.get(code=report.course_code)
    for line in report.summary_lines():
        log(f"curriculum: {line}")
    if classroom.course_id != course.id:
        classroom.course = course
        classroom.save(update_fields=["course"])
    return course
