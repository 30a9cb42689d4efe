from django.apps import AppConfig


class EmbeddingsConfig(AppConfig):
    name = "curation.embeddings"
    label = "embeddings"
    verbose_name = "Embeddings, similarity search, duplicates and the embedding map"

    def ready(self) -> None:
        # Register this app's job kinds with the job runner, the sample list's `duplicate_run` + `duplicate_group`
        # filter and its sort by duplicate group size (curation looks them up by name; explicit, no signals).
        from curation.apis.sample_sets import SAMPLE_SET_RESOLVERS  # noqa: PLC0415 - registered at app start-up, once the app registry is ready
        from curation.embeddings import job_kinds  # noqa: F401, PLC0415 - registered at app start-up, once the app registry is ready
        from curation.embeddings.sample_sets import DUPLICATE_SIZE, duplicate_group_sample_set  # noqa: PLC0415 - registered at app start-up, once the app registry is ready
        from curation.sample_sorts import RUN_SORTS  # noqa: PLC0415 - registered at app start-up, once the app registry is ready

        SAMPLE_SET_RESOLVERS["duplicate_group"] = duplicate_group_sample_set
        RUN_SORTS[DUPLICATE_SIZE.key] = DUPLICATE_SIZE
