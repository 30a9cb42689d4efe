"""Job kinds of the evaluation app (imported by EvaluationConfig.ready): the `evaluate` run kind of the run kit.

Every process imports this module at start-up, so the evaluation services (and torch behind them)
are imported only when a run is prepared or its job runs: the kit calls them by name.
"""

from jobs.runs.kinds import RunKind, run_kind_register
from robustness.evaluation.models import EvaluationRun
from robustness.evaluation.params import EvaluationParams

EVALUATE_JOB_KIND = "evaluate"  # robustness.evaluation.services.EVALUATE_JOB_KIND

EVALUATION = run_kind_register(
    RunKind(
        name=EVALUATE_JOB_KIND,
        model=EvaluationRun,
        params=EvaluationParams,
        prepare="robustness.evaluation.services.start:evaluation_run_prepare",
        execute="robustness.evaluation.services.runs:evaluation_run_execute",
        cleanup="robustness.evaluation.services.predictions:predictions_delete",
        job_param="evaluation_run_id",
        noun="evaluation run",
        description="Evaluate a trained model on a dataset version: clean, corruptions, adversarial, attribute edits.",
        label="Evaluations",
        slug="evaluation",
        report_url_name="frontend:evaluation_report",
        report_template="frontend/evaluation/evaluation_report.html",
    )
)
