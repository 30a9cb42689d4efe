"""Job kinds of the explain app (imported by ExplainConfig.ready): the `explain` run kind of the run kit.

The kit calls the services by name: registering the kind at start-up loads neither torch nor
pytorch-grad-cam; the first job that runs imports them.
"""

from explain.models import ExplanationRun
from explain.params import ExplanationParams
from jobs.runs.kinds import RunKind, run_kind_register

EXPLAIN_JOB_KIND = "explain"  # explain.services.runs.EXPLAIN_JOB_KIND (not imported here: see above)

EXPLANATION = run_kind_register(
    RunKind(
        name=EXPLAIN_JOB_KIND,
        model=ExplanationRun,
        params=ExplanationParams,
        prepare="explain.services.runs:explanation_run_prepare",
        execute="explain.services.runs:explanation_run_execute",
        cleanup="explain.services.runs:explanation_rows_delete",
        job_param="explanation_run_id",
        noun="explanation run",
        description="Grad-CAM maps and scores of a trained model over a dataset version's samples.",
        label="Explanations",
        slug="explanation",
        report_url_name="frontend:explanation_report",
        report_template="frontend/explain/explanation_report.html",
    )
)
