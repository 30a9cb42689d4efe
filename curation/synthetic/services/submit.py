"""Submitting a batch's generation job (no heavy imports: the web process calls this)."""

from django.contrib.auth.models import User
from django.db import transaction

from curation.services.weights import weights_name_check
from curation.synthetic.job_kinds import GENERATE_JOB_KIND
from curation.synthetic.models import SyntheticBatch
from curation.synthetic.services.plans import PlanParams, synthetic_batch_create
from jobs.models import Job
from jobs.services import job_submit


def synthetic_batch_submit(*, batch: SyntheticBatch, requested_by: User | None) -> Job:
    """Queue the batch's generation job (gpu queue; sent after commit) and link it to the batch."""
    job = job_submit(kind=GENERATE_JOB_KIND, params={"batch_id": batch.pk}, requested_by=requested_by)
    SyntheticBatch.objects.filter(pk=batch.pk).update(job=job)
    batch.job = job
    return job


@transaction.atomic
def synthetic_batch_start(
    *,
    params: PlanParams,
    user: User | None,
    name: str = "",
    plan_source: str = "manual",
    report_id: int | None = None,
    slice_number: int | None = None,
) -> SyntheticBatch:
    """Create the batch with its plan and queue its job, in one transaction (what the API and page call).

    `report_id` is the spurious-feature report of a "spurious_report" plan, the failure-slice report of a
    "slice_report" plan (with `slice_number`).
    Raises ApplicationError weights_forbidden (400) when the generator's or flag encoder's weights are
    not allowed for `user` (curation.services.weights.weights_name_check).
    """
    weights_name_check(name=params.generator, user=user)
    weights_name_check(name=params.flag_encoder, user=user)
    slice_plan = plan_source == "slice_report"  # report_id names the slice report, slice_number its slice
    batch = synthetic_batch_create(
        params=params, user=user, name=name, plan_source=plan_source,
        spurious_report_id=None if slice_plan else report_id, slice_report_id=report_id if slice_plan else None,
        slice_number=slice_number,
    )  # fmt: skip
    synthetic_batch_submit(batch=batch, requested_by=user)
    return batch
