from django.apps import AppConfig


class SyntheticConfig(AppConfig):
    name = "curation.synthetic"
    label = "synthetic"
    verbose_name = "Synthetic counter-examples"

    def ready(self) -> None:
        # Register this app's job kinds with the job runner (explicit imports, no signals).
        from curation.synthetic import job_kinds  # noqa: F401, PLC0415 - registered at app start-up, once the app registry is ready
