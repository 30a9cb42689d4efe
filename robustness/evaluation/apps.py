from django.apps import AppConfig


class EvaluationConfig(AppConfig):
    name = "robustness.evaluation"
    label = "evaluation"
    verbose_name = "Evaluation runs and robustness reports"
