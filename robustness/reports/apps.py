from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "robustness.reports"
    label = "reports"
    verbose_name = "Model reports"

    def ready(self) -> None:
        from robustness.reports import job_kinds  # noqa: F401, PLC0415 - registered at app start-up, once the app registry is ready
