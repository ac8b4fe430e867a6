"""Write a course back to the authoring format (a directory that import_curriculum reads)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from curriculum.exporter import export_course
from curriculum.importer import UNITS_DIR
from curriculum.models import Course


class Command(BaseCommand):
    help = "Export a course to OUT_DIR/course.yaml and OUT_DIR/units/<unit-code>.yaml (active items only)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("course_code", help="Code of the course, e.g. ms-math.")
        parser.add_argument(
            "out_dir",
            help="Directory to write (created if missing; files in it are overwritten).",
        )

    def handle(self, *args, course_code: str, out_dir: str, **options) -> None:
        course = Course.objects.filter(code=course_code).first()
        if course is None:
            known = ", ".join(Course.objects.values_list("code", flat=True)) or "none"
            raise CommandError(f"No course with code {course_code!r} (known: {known}).")
        written = export_course(course, out_dir)
        stale = sorted(set((Path(out_dir) / UNITS_DIR).glob("*.y*ml")) - set(written))
        for path in stale:
            self.stderr.write(
                f"warning: {path} is not part of {course_code}: remove it before importing this directory."
            )
        self.stdout.write(
            f"Exported {course_code} ({course.title}) to {out_dir}: {len(written)} files."
        )
