from django.apps import AppConfig


class SlicesConfig(AppConfig):
    name = "explain.slices"
    label = "slices"
    verbose_name = "Failure-slice reports"

    def ready(self) -> None:
        # Register this app's job kinds with the job runner (explicit imports, no signals).
        from explain.slices import job_kinds  # noqa: F401
