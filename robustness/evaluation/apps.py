from django.apps import AppConfig


class EvaluationConfig(AppConfig):
    name = "robustness.evaluation"
    label = "evaluation"
    verbose_name = "Evaluation runs and robustness reports"

    def ready(self) -> None:
        # Register this app's job kinds with the job runner (explicit imports, no signals).
        from robustness.evaluation import job_kinds  # noqa: F401, PLC0415 - registered at app start-up, once the app registry is ready
