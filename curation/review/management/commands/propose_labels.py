"""`manage.py propose_labels VERSION_ID [--source S] [--split S ...] [--embeddings ID] [--cluster-run ID] [--model ID]
[--enqueue]`."""

from argparse import ArgumentParser
from typing import Any

from curation.models import Split
from curation.review.services.proposal_params import STARTABLE_SOURCES, proposal_params_validate
from curation.review.services.proposals import PROPOSALS_JOB_KIND
from jobs.cli import JobCommand


class Command(JobCommand):
    help = (
        "Propose labels for a version's samples from one source: confident_learning (cleanlab on a linear probe's "
        "out-of-fold probabilities, the default), model_topk, clip_zero_shot or mixed_cluster. The last stdout line is "
        "JSON: label_issues (samples flagged as mislabelled) apart from shift_flags (flags a shift between splits "
        "explains) and proposals."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("version_id", type=int, help="id of the version")
        parser.add_argument(
            "--source",
            default="confident_learning",
            choices=[str(s) for s in STARTABLE_SOURCES],
            help="(default %(default)s)",
        )
        parser.add_argument(
            "--split",
            action="append",
            default=[],
            choices=[str(s) for s in Split.values],
            help="only the members of this split (repeatable; default: every split)",
        )
        parser.add_argument("--embeddings", type=int, default=None, help="embedding set id (default: the newest)")
        parser.add_argument("--cluster-run", type=int, default=None, help="mixed_cluster: the cluster run")
        parser.add_argument("--model", type=int, default=None, help="model_topk: the trained model id")
        parser.add_argument("--threshold", type=float, default=0.3, help="top-k / zero-shot floor (default 0.3)")
        parser.add_argument("--top-k", type=int, default=3, help="labels per sample at most (default 3)")
        parser.add_argument("--folds", type=int, default=5, help="confident learning folds (default 5)")

    def run(self, **options: Any) -> dict[str, Any]:
        params = proposal_params_validate(
            version_id=options["version_id"],
            source=options["source"],
            embedding_set_id=options["embeddings"],
            cluster_run_id=options["cluster_run"],
            trained_model_id=options["model"],
            threshold=options["threshold"],
            top_k=options["top_k"],
            folds=options["folds"],
            splits=tuple(options["split"]),
        )
        return self.run_job(kind=PROPOSALS_JOB_KIND, params=params.as_job_params(), enqueue=options["enqueue"])
