from django.apps import AppConfig


class SpuriousConfig(AppConfig):
    name = "explain.spurious"
    label = "spurious"
    verbose_name = "Spurious-feature reports"

    def ready(self) -> None:
        # Register this app's job kinds with the job runner (explicit imports, no signals).
        from explain.spurious import job_kinds  # noqa: F401, PLC0415 - registered at app start-up, once the app registry is ready
