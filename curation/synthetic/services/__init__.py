"""Synthetic services: plan and start a batch, review its images, apply the accepted ones to a new version.

plans.py (parameters and the plan), report_plans.py (plans from a spurious report or a failure slice),
submit.py (create and submit), review.py (accept or reject), apply.py (into a new version). The job's
bodies, generation.py (generators) and flags.py (torch: flagging by a model or CLIP), are not listed here:
the job kinds load them by path when a job runs, so importing this package loads no ML library.
"""

from curation.synthetic.services.apply import synthetic_batch_apply
from curation.synthetic.services.plans import (
    DEFAULT_CONTEXTS,
    PlanParams,
    plan_build,
    plan_params_validate,
    synthetic_batch_create,
)
from curation.synthetic.services.report_plans import (
    SLICE_CONTEXT_TEMPLATE,
    SLICE_PARENTS,
    avoid_from_spurious_report,
    plan_from_slice,
    slice_contexts,
)
from curation.synthetic.services.review import synthetic_image_review, synthetic_images_review_bulk
from curation.synthetic.services.submit import synthetic_batch_start, synthetic_batch_submit

__all__ = [
    "DEFAULT_CONTEXTS",
    "SLICE_CONTEXT_TEMPLATE",
    "SLICE_PARENTS",
    "PlanParams",
    "avoid_from_spurious_report",
    "plan_build",
    "plan_from_slice",
    "plan_params_validate",
    "slice_contexts",
    "synthetic_batch_apply",
    "synthetic_batch_create",
    "synthetic_batch_start",
    "synthetic_batch_submit",
    "synthetic_image_review",
    "synthetic_images_review_bulk",
]
