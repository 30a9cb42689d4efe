from django.apps import AppConfig


class ReviewConfig(AppConfig):
    name = "curation.review"
    label = "review"
    verbose_name = "Label proposals and multi-label review"

    def ready(self) -> None:
        # Register this app's job kinds with the job runner and the sample list's `review_state` filter
        # (curation.apis.sample_sets looks its resolver up by name; explicit, no signals).
        from curation.apis.sample_sets import SAMPLE_SET_RESOLVERS
        from curation.review import job_kinds  # noqa: F401
        from curation.review.sample_sets import review_state_sample_set

        SAMPLE_SET_RESOLVERS["review_state"] = review_state_sample_set
