from django.apps import AppConfig


class PruningConfig(AppConfig):
    name = "curation.pruning"
    label = "pruning"
    verbose_name = "Clusters and pruning runs"
