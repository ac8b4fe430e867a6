from django.apps import AppConfig


class TutorConfig(AppConfig):
    name = "tutor"
    verbose_name = "Tutoring"

    def ready(self) -> None:
        from tutor.engine import offline  # noqa: F401  registers the offline backend
