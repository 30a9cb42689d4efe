from django.apps import AppConfig


class RobustnessConfig(AppConfig):
    name = "robustness"
