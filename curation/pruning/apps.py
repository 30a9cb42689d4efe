from django.apps import AppConfig


class PruningConfig(AppConfig):
    name = "curation.pruning"
    label = "pruning"
    verbose_name = "Clusters and pruning runs"

    def ready(self) -> None:
        # Register this app's job kinds with the job runner (explicit imports, no signals).
        from curation.pruning import job_kinds  # noqa: F401
