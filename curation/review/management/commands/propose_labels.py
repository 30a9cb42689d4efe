"""`manage.py propose_labels VERSION_ID [--source S] [--split S ...] [--embeddings ID] [--cluster-run ID] [--model ID]
[--enqueue]`.

Every parameter of ProposalParams is an option (core.params), as on the API and the page.
"""

from typing import Any

from core.params import params_values_from_options
from curation.review.services.proposal_params import ProposalParams, proposal_params_validate
from curation.review.services.proposals import PROPOSALS_JOB_KIND
from jobs.cli import JobCommand


class Command(JobCommand):
    help = (
        "Propose labels for a version's samples from one source: confident_learning (cleanlab on a linear probe's "
        "out-of-fold probabilities, the default), model_topk, clip_zero_shot or mixed_cluster. The last stdout line is "
        "JSON: label_issues (samples flagged as mislabelled) apart from shift_flags (flags a shift between splits "
        "explains) and proposals; instances: what same-object matching decided (--instances no skips it)."
    )

    params_class = ProposalParams

    def run(self, **options: Any) -> dict[str, Any]:
        params = proposal_params_validate(**params_values_from_options(options, ProposalParams))
        return self.run_job(kind=PROPOSALS_JOB_KIND, params=params.as_job_params(), enqueue=options["enqueue"])
