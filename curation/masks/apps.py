from django.apps import AppConfig


class MasksConfig(AppConfig):
    name = "curation.masks"
    label = "masks"
    verbose_name = "Foreground masks estimated per dataset version"

    def ready(self) -> None:
        # Register this app's job kind with the job runner (explicit imports, no signals).
        from curation.masks import job_kinds  # noqa: F401, PLC0415 - registered at app start-up, once the app registry is ready
