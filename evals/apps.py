from django.apps import AppConfig


class EvalsConfig(AppConfig):
    name = "evals"

    def ready(self) -> None:
        from evals import replay  # noqa: F401  registers the replay backend
