from django.apps import AppConfig


class ExportsConfig(AppConfig):
    name = "curation.exports"
    label = "exports"
    verbose_name = "Dataset exports"

    def ready(self) -> None:
        # Register this app's job kind with the job runner (explicit imports, no signals).
        from curation.exports import job_kinds  # noqa: F401, PLC0415 - registered at app start-up, once the app registry is ready
