from django.apps import AppConfig


class ReviewConfig(AppConfig):
    name = "curation.review"
    label = "review"
    verbose_name = "Label proposals and multi-label review"

    def ready(self) -> None:
        # Register this app's job kinds with the job runner (explicit imports, no signals).
        from curation.review import job_kinds  # noqa: F401
