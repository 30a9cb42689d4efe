from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Winnow core"

    def ready(self) -> None:
        from core import checks  # noqa: F401, PLC0415 - registers the deployment checks
