from django.apps import AppConfig


class CurationConfig(AppConfig):
    name = "curation"
    verbose_name = "Curation"

    def ready(self) -> None:
        # Register this app's job kinds with the job runner (explicit imports, no signals).
        from curation import job_kinds  # noqa: F401, PLC0415 - registered at app start-up, once the app registry is ready
