"""Validate a course (directory or single YAML file) and import it atomically."""

from django.core.management.base import BaseCommand, CommandError

from curriculum.importer import CurriculumInvalid, import_course


class Command(BaseCommand):
    help = (
        "Import a course: PATH is a course directory (course.yaml + units/*.yaml) or one YAML file with "
        "its units inline. Everything is validated first; on any problem nothing is imported."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("path", help="Course directory or YAML file.")
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Validate and report what would change; write nothing.",
        )

    def handle(self, *args, path: str, dry_run: bool, **options) -> None:
        try:
            report = import_course(path, dry_run=dry_run)
        except CurriculumInvalid as invalid:
            for warning in invalid.warnings:
                self.stderr.write(f"warning: {warning}")
            for issue in invalid.issues:
                self.stderr.write(str(issue))
            raise CommandError(
                f"{len(invalid.issues)} problem(s) found in {path}; nothing was imported."
            ) from None
        for warning in report.warnings:
            self.stderr.write(f"warning: {warning}")
        for line in report.summary_lines():
            self.stdout.write(line)
