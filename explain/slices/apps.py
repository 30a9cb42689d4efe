from django.apps import AppConfig


class SlicesConfig(AppConfig):
    name = "explain.slices"
    label = "slices"
    verbose_name = "Failure-slice reports"

    def ready(self) -> None:
        # Register this app's job kinds with the job runner, the sample list's `slice_report` + `slice` filter
        # (curation.apis.sample_sets looks its resolver up by name; explicit, no signals) and the evaluation's
        # `slice_reports` groups (robustness.evaluation.services.groups, likewise).
        from curation.apis.sample_sets import SAMPLE_SET_RESOLVERS  # noqa: PLC0415 - registered at app start-up, once the app registry is ready
        from explain.slices import job_kinds  # noqa: F401, PLC0415 - registered at app start-up, once the app registry is ready
        from explain.slices.evaluation_groups import slice_report_groups  # noqa: PLC0415 - registered at app start-up, once the app registry is ready
        from explain.slices.sample_sets import slice_sample_set  # noqa: PLC0415 - registered at app start-up, once the app registry is ready
        from robustness.evaluation.services.groups import GROUP_SOURCES  # noqa: PLC0415 - registered at app start-up, once the app registry is ready

        SAMPLE_SET_RESOLVERS["slice"] = slice_sample_set
        GROUP_SOURCES["slice_report"] = slice_report_groups
