from django.apps import AppConfig


class ExplainConfig(AppConfig):
    name = "explain"
    verbose_name = "Grad-CAM explanations"

    def ready(self) -> None:
        # Register this app's job kinds with the job runner (explicit imports, no signals).
        from explain import job_kinds  # noqa: F401, PLC0415 - registered at app start-up, once the app registry is ready
