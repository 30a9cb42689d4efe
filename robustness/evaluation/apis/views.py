"""REST API of evaluation runs: list, start, detail (one view per operation, on the run kit's bases).

Starting needs the run_gpu_jobs capability (admins); reading needs view. A request the service
refuses (classes that do not match the version, unknown suites or parameters, a baseline on
another dataset) is a structured 400 and creates nothing.
"""

from jobs.runs.apis import RunDetailApi, RunListApi, RunStartApi
from robustness.evaluation.apis.serializers import (
    EvaluationRunDetailOutputSerializer,
    EvaluationRunOutputSerializer,
    EvaluationStartedOutputSerializer,
)
from robustness.evaluation.job_kinds import EVALUATION
from robustness.evaluation.selectors import (
    evaluation_run_get,
    evaluation_run_list,
)


class EvaluationListApi(RunListApi):
    """Evaluation runs, newest first, optionally of one version or one trained model (cursor pagination)."""

    run_kind, tag, operation_id = EVALUATION, "evaluations", "evaluations_list"
    output_serializer = EvaluationRunOutputSerializer
    rows = staticmethod(evaluation_run_list)


class EvaluationStartApi(RunStartApi):
    """Start evaluating a trained model on a dataset version; returns 202 with the run and its job."""

    run_kind, tag = EVALUATION, "evaluations"
    started_serializer, started_id = EvaluationStartedOutputSerializer, "evaluation_run"
    refusals = "classes_mismatch, invalid_params, ..."


class EvaluationDetailApi(RunDetailApi):
    """One run: parameters, status, the headline summary, the mCE table and every suite's results."""

    run_kind, tag = EVALUATION, "evaluations"
    detail_serializer = EvaluationRunDetailOutputSerializer
    row = staticmethod(evaluation_run_get)
