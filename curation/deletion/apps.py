from django.apps import AppConfig


class DeletionConfig(AppConfig):
    name = "curation.deletion"
    label = "deletion"
    verbose_name = "Deletions"

    def ready(self) -> None:
        # Register this app's job kind with the job runner (explicit imports, no signals).
        from curation.deletion import job_kinds  # noqa: F401, PLC0415 - registers the job kinds once the app registry is ready
