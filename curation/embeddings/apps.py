from django.apps import AppConfig


class EmbeddingsConfig(AppConfig):
    name = "curation.embeddings"
    label = "embeddings"
    verbose_name = "Embeddings, similarity search, duplicates and the embedding map"
