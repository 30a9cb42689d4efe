from django.apps import AppConfig


class PruningConfig(AppConfig):
    name = "curation.pruning"
    label = "pruning"
    verbose_name = "Clusters and pruning runs"

    def ready(self) -> None:
        # Register this app's job kinds with the job runner, the sample list's `cluster_run` + `cluster` filter and
        # its sort by distance to the centroid, and the embedding map's colouring by cluster (the apps below look
        # them up by name; explicit, no signals).
        from curation.apis.sample_sets import SAMPLE_SET_RESOLVERS  # noqa: PLC0415 - registrations made once the app registry is ready
        from curation.embeddings.selectors.maps import SAMPLE_NUMBERINGS  # noqa: PLC0415 - registrations made once the app registry is ready
        from curation.pruning import job_kinds  # noqa: F401, PLC0415 - registrations made once the app registry is ready
        from curation.pruning.sample_sets import CLUSTER_DISTANCE, cluster_sample_set  # noqa: PLC0415 - registrations made once the app registry is ready
        from curation.pruning.selectors.maps import map_cluster_numbers  # noqa: PLC0415 - registrations made once the app registry is ready
        from curation.sample_sorts import RUN_SORTS  # noqa: PLC0415 - registrations made once the app registry is ready

        SAMPLE_SET_RESOLVERS["cluster"] = cluster_sample_set
        SAMPLE_NUMBERINGS["cluster"] = map_cluster_numbers
        RUN_SORTS[CLUSTER_DISTANCE.key] = CLUSTER_DISTANCE
