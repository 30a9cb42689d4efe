from django.apps import AppConfig


class RobustnessConfig(AppConfig):
    name = "robustness"
    verbose_name = "Training runs and trained models"

    def ready(self) -> None:
        from robustness import job_kinds  # noqa: F401, PLC0415 - registered at app start-up, once the app registry is ready (registers the `train` job kind)
