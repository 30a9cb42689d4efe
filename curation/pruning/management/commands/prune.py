"""`manage.py prune VERSION_ID --method M --keep-fraction F [--split S ...] [--eps E] [--embeddings ID] [--enqueue]`."""

from argparse import ArgumentParser
from typing import Any

from curation.pruning.job_kinds import PRUNE_JOB_KIND
from curation.pruning.models import PruneMethod
from curation.pruning.services.params import prune_params_validate
from curation.pruning.services.splits import SPLITS
from jobs.cli import JobCommand


class Command(JobCommand):
    help = (
        "Propose a pruning of a version (semdedup, dbp, ssp, random or semdedup+dbp): a decision, a reason and a "
        "score for every sample, stored as a prune run; nothing changes until the run is applied. "
        "The last stdout line is JSON."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("version_id", type=int, help="id of the version to prune")
        parser.add_argument("--method", required=True, choices=PruneMethod.values)
        parser.add_argument(
            "--keep-fraction",
            type=float,
            default=None,
            help="fraction KEPT, in (0, 1] (semdedup+dbp: of SemDeDup's survivors; semdedup: picks eps when no --eps)",
        )
        parser.add_argument(
            "--split",
            action="append",
            dest="splits",
            choices=SPLITS,
            default=None,
            help="a split whose samples may be removed, repeatable (default: train only; the others are kept); "
            "the keep fraction applies to the samples of these splits",
        )
        parser.add_argument("--eps", type=float, default=None, help="SemDeDup threshold in (0, 1) (default 0.05)")
        parser.add_argument("--tau", type=float, default=None, help="DBP softmax temperature (default 0.1)")
        parser.add_argument("--cls-bal-ratio", type=float, default=None, help="DBP class-balance ratio (default 0.5)")
        parser.add_argument("--which-to-keep", choices=("hard", "easy", "random"), default=None, help="default hard")
        parser.add_argument("--k", type=int, default=None, help="k-means clusters (default round(sqrt(n / 2)))")
        parser.add_argument("--dbp-k", type=int, default=None, help="semdedup+dbp: DBP's clusters")
        parser.add_argument("--per-class", action="store_true", help="apply the budget within each class")
        parser.add_argument("--seed", type=int, default=None, help="seed (default 1234)")
        parser.add_argument("--embeddings", type=int, default=None, help="embedding set id (default: the newest)")
        parser.add_argument("--cluster-run", type=int, default=None, help="reuse this cluster run (semdedup, dbp)")

    def run(self, **options: Any) -> dict[str, Any]:
        params = prune_params_validate(
            version_id=options["version_id"],
            method=options["method"],
            keep_fraction=options["keep_fraction"],
            eps=options["eps"],
            tau=options["tau"],
            cls_bal_ratio=options["cls_bal_ratio"],
            which_to_keep=options["which_to_keep"],
            n_clusters=options["k"],
            dbp_n_clusters=options["dbp_k"],
            per_class=options["per_class"] or None,
            seed=options["seed"],
            embedding_set_id=options["embeddings"],
            cluster_run_id=options["cluster_run"],
            splits=options["splits"],
        )
        return self.run_job(kind=PRUNE_JOB_KIND, params=params.as_job_params(), enqueue=options["enqueue"])
