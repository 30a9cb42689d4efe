from django.apps import AppConfig


class EmbeddingsConfig(AppConfig):
    name = "curation.embeddings"
    label = "embeddings"
    verbose_name = "Embeddings, similarity search, duplicates and the embedding map"

    def ready(self) -> None:
        # Register this app's job kinds with the job runner (explicit imports, no signals).
        from curation.embeddings import job_kinds  # noqa: F401
