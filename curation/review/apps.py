from django.apps import AppConfig


class ReviewConfig(AppConfig):
    name = "curation.review"
    label = "review"
    verbose_name = "Label proposals and multi-label review"

    def ready(self) -> None:
        # Register this app's job kinds with the job runner, the sample list's `review_state` filter and its sort by
        # issue score (curation looks them up by name; explicit, no signals).
        from curation.apis.sample_sets import SAMPLE_SET_RESOLVERS  # noqa: PLC0415 - registered at app start-up, once the app registry is ready
        from curation.review import job_kinds  # noqa: F401, PLC0415 - registered at app start-up, once the app registry is ready
        from curation.review.sample_sets import ISSUE_SCORE, review_state_sample_set  # noqa: PLC0415 - registered at app start-up, once the app registry is ready
        from curation.sample_sorts import RUN_SORTS  # noqa: PLC0415 - registered at app start-up, once the app registry is ready

        SAMPLE_SET_RESOLVERS["review_state"] = review_state_sample_set
        RUN_SORTS[ISSUE_SCORE.key] = ISSUE_SCORE
