from django.apps import AppConfig


class EvaluationConfig(AppConfig):
    name = "robustness.evaluation"
    label = "evaluation"
    verbose_name = "Evaluation runs and robustness reports"

    def ready(self) -> None:
        # Register this app's job kinds with the job runner, and the sample list's `prediction_run` filters and
        # its sort by confidence (curation looks them up by name; explicit imports, no signals).
        from curation.apis.sample_sets import SAMPLE_SET_RESOLVERS  # noqa: PLC0415 - registered at app start-up, once the app registry is ready
        from curation.sample_sorts import RUN_SORTS  # noqa: PLC0415 - registered at app start-up, once the app registry is ready
        from robustness.evaluation import job_kinds  # noqa: F401, PLC0415 - registered at app start-up, once the app registry is ready
        from robustness.evaluation.sample_sets import CONFIDENCE, prediction_sample_set  # noqa: PLC0415 - registered at app start-up, once the app registry is ready

        SAMPLE_SET_RESOLVERS["prediction"] = prediction_sample_set
        RUN_SORTS[CONFIDENCE.key] = CONFIDENCE
