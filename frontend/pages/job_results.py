# Over 300 lines: one outcome function per job kind, registered in one place, so every kind's summary and links are
# found together.
"""What a finished job made, for its page: a one-line summary and links to the things it made and to the next step.

Each job kind registers one function `(result, job) -> JobOutcome` reading the keys of the dict the kind
returns (e.g. `{"prune_run": 7, "version": 3, "n_kept": ...}`). Kinds without one (test kinds, kinds added
later) get links to the dataset and version their result names, as before. Links are built with
`reverse()`; a dataset version's pages are addressed by its number, so version ids are looked up.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import TextChoices
from django.template.defaultfilters import filesizeformat
from django.urls import reverse

from core.roles import Capability, user_can
from curation.models import DatasetVersion
from curation.pruning.models import PruneMethod
from curation.review.models import ProposalSource
from explain.selectors import explanation_run_get
from frontend.selectors import version_get
from jobs.models import Job
from jobs.runs.kinds import run_kind_get
from robustness.evaluation.selectors import evaluation_run_get
from robustness.reports.job_kinds import report_kinds
from robustness.selectors import training_run_get


@dataclass(frozen=True)
class ResultLink:
    label: str
    url: str
    next_step: bool = False  # a button that carries the loop on (drawn as the primary action)
    capability: Capability = Capability.VIEW  # what the link's page needs (next steps shown elsewhere are filtered)


@dataclass(frozen=True)
class JobOutcome:
    summary: str = ""
    links: list[ResultLink] = field(default_factory=list)


OutcomeBuilder = Callable[[dict[str, Any], Job], JobOutcome]
OUTCOME_BUILDERS: dict[str, OutcomeBuilder] = {}


def outcome_for(*kinds: str) -> Callable[[OutcomeBuilder], OutcomeBuilder]:
    def register(builder: OutcomeBuilder) -> OutcomeBuilder:
        for kind in kinds:
            OUTCOME_BUILDERS[kind] = builder
        return builder

    return register


def job_outcome(job: Job) -> JobOutcome:
    """The summary and links of a finished job's result (empty for an unfinished job or one without a result).

    A result shown with hidden details (jobs.selectors.jobs_as_seen_by) keeps only its numbers: the builders
    read its text with defaults, so the summary and the links still come.
    """
    result = job.result if isinstance(job.result, dict) else {}
    if not job.is_finished or not result:
        return JobOutcome()
    generic = job.kind in {kind.name for kind in report_kinds()}
    builder = OUTCOME_BUILDERS.get(job.kind, _report_link if generic else _dataset_links)
    try:
        return builder(result, job)
    except (KeyError, TypeError, ValueError):  # a result written by an older version of the kind
        return _dataset_links(result, job)


def _report_link(result: dict[str, Any], job: Job) -> JobOutcome:
    """A generic report's job (robustness.reports: its result names the report): the report's page."""
    kind = run_kind_get(job.kind)
    name = f"{kind.noun.capitalize()} {result['report']}"
    return JobOutcome(f"{name} stored.", [ResultLink(name, reverse(kind.report_url_name, args=[result["report"]]))])


def job_next_steps(job: Job, user: Any) -> list[ResultLink]:
    """The next-step links of a finished job that `user` may follow, for the pages a start form opens (a training
    run's page, a run report), so the loop goes on from where the result is shown, not only from the job page."""
    return [link for link in job_outcome(job).links if link.next_step and user_can(user, link.capability)]


def _version(version_id: Any) -> DatasetVersion | None:
    return version_get(version_id) if isinstance(version_id, int) else None


def _version_links(version: DatasetVersion | None) -> list[ResultLink]:
    if version is None:
        return []
    url = reverse("frontend:dataset_detail", args=[version.dataset_id])
    return [ResultLink(f"{version.dataset.name} v{version.number}", f"{url}?version={version.number}")]


def _url(name: str, *args: Any, **query: Any) -> str:
    url = reverse(f"frontend:{name}", args=args)
    query_text = "&".join(f"{key}={value}" for key, value in query.items() if value not in (None, ""))
    return f"{url}?{query_text}" if query_text else url


def _percent(value: Any) -> str:
    return f"{float(value):.1%}" if isinstance(value, int | float) else "n/a"


def _plural(count: Any, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}" if isinstance(count, int) else f"? {noun}s"


def _choice_label(choices: type[TextChoices], value: Any) -> str:
    """A stored choice as people read it ("semdedup" -> "SemDeDup"); unknown values as they are."""
    return str(choices(value).label) if value in choices.values else str(value)


def _dataset_links(result: dict[str, Any], job: Job) -> JobOutcome:
    """The fallback: the dataset and version a result names (`dataset`/`dataset_id`, `version_id`)."""
    dataset = result.get("dataset_id", result.get("dataset"))
    if not isinstance(dataset, int):
        return JobOutcome()
    version = _version(result.get("version_id"))
    if version is not None and version.dataset_id == dataset:
        return JobOutcome(links=_version_links(version))
    return JobOutcome(links=[ResultLink(f"Dataset {dataset}", reverse("frontend:dataset_detail", args=[dataset]))])


@outcome_for("import_dataset")
def _imported(result: dict[str, Any], job: Job) -> JobOutcome:
    version = _version(result.get("version", result.get("version_id")))
    summary = f"Imported {_plural(result['imported'], 'image')}"
    summary += f" ({result.get('rejected', 0):,} rejected, {result.get('duplicates', 0):,} duplicates)"
    if version is None:
        return JobOutcome(f"{summary}.", _dataset_links(result, job).links)
    links = [*_version_links(version), _grid_link(version), _embed_step(version)]
    return JobOutcome(f"{summary} into {version.dataset.name} v{version.number}.", links)


def _grid_link(version: DatasetVersion) -> ResultLink:
    return ResultLink("Browse samples", _url("sample_grid", version.dataset_id, version.number))


def _embed_step(version: DatasetVersion) -> ResultLink:
    return ResultLink("Embed this version", _url("embeddings", version.dataset_id, version.number), next_step=True)


@outcome_for("embed")
def _embedded(result: dict[str, Any], job: Job) -> JobOutcome:
    version = _version(result["version"])
    summary = (
        f"Embedded {_plural(result['rows'], 'image')} with {result.get('encoder', 'the encoder')} ({result['dim']}-d)"
    )
    if result.get("skipped"):
        summary += f"; {_plural(result['skipped'], 'image')} skipped"
    links = _version_links(version)
    if version is not None:
        embeddings = _url("embeddings", version.dataset_id, version.number)
        links += [
            ResultLink("Embedding sets", embeddings),
            ResultLink("Find duplicates", f"{embeddings}#start-title", next_step=True),
            ResultLink("Cluster", _url("cluster_runs", version.dataset_id, version.number), next_step=True),
        ]
    return JobOutcome(f"{summary}.", links)


@outcome_for("find_duplicates")
def _duplicates(result: dict[str, Any], job: Job) -> JobOutcome:
    version = _version(result["version"])
    summary = (
        f"{_plural(result['exact_groups'], 'exact group')} and {_plural(result['near_groups'], 'near-duplicate group')}"
        f" ({_plural(result['near_duplicate_samples'], 'sample')}) at cosine threshold {result['threshold']:.3f}."
    )
    links = [ResultLink(f"Duplicate run {result['duplicate_run']}", _url("duplicate_run", result["duplicate_run"]))]
    links += _version_links(version)
    if version is not None:
        links.append(ResultLink("Prune", _url("prune_start", version.dataset_id, version.number), next_step=True))
    return JobOutcome(summary, links)


@outcome_for("embedding_map")
def _mapped(result: dict[str, Any], job: Job) -> JobOutcome:
    summary = f"A {str(result.get('method', '2-D')).upper()} map of {_plural(result['points'], 'point')}."
    links = [ResultLink("Open the map", _url("embedding_map", result["embedding_map"]), next_step=True)]
    return JobOutcome(summary, links + _version_links(_version(result["version"])))


@outcome_for("cluster")
def _clustered(result: dict[str, Any], job: Job) -> JobOutcome:
    version = _version(result["version"])
    summary = f"{_plural(result['n_clusters'], 'cluster')} over {_plural(result['n_samples'], 'sample')}."
    if version is None:
        return JobOutcome(summary)
    clusters = _url("cluster_runs", version.dataset_id, version.number, run=result["cluster_run"])
    links = [ResultLink(f"Cluster run {result['cluster_run']}", clusters), *_version_links(version)]
    links.append(ResultLink("Prune", _url("prune_start", version.dataset_id, version.number), next_step=True))
    return JobOutcome(summary, links)


@outcome_for("prune")
def _pruned(result: dict[str, Any], job: Job) -> JobOutcome:
    summary = (
        f"{_choice_label(PruneMethod, result.get('method', 'The run'))} proposes keeping {result['n_kept']:,}"
        f" of {result['n_candidates']:,} candidates and removing {result['n_removed']:,};"
        " nothing changes until the run is applied."
    )
    explanation = result.get("keep_explanation")
    if isinstance(explanation, str) and explanation:  # why the number kept differs from the fraction asked for
        summary += f" Why {result['n_kept']:,}: {explanation}"
    run_url = _url("prune_run_detail", result["prune_run"])
    links = [ResultLink("Review and apply the pruning", run_url, next_step=True)]
    return JobOutcome(summary, links + _version_links(_version(result["version"])))


@outcome_for("label_proposals")
def _proposed(result: dict[str, Any], job: Job) -> JobOutcome:
    summary = (
        f"{_plural(result['proposals'], 'label proposal')} for {_plural(result['flagged_samples'], 'sample')}"
        f" from {_choice_label(ProposalSource, result.get('source', 'one source'))}"
    )
    for key, noun in (("label_issues", "label issue"), ("shift_flags", "split-shift flag")):
        if isinstance(result.get(key), int):
            summary += f"; {_plural(result[key], noun)}"
    summary += "."
    instances = result.get("instances")
    if isinstance(instances, dict) and instances.get("ran"):
        summary += (
            f" Same-object matching: {_plural(instances['covered'], 'sample')} share an object photo with other"
            f" images and were decided by them ({instances['label_issues_by_partners']:,} flagged,"
            f" {instances['cleared_by_partners']:,} probe flags cleared)."
        )
        swap = instances.get("background_swap")
        if isinstance(swap, dict) and swap.get("ran"):
            summary += (
                f" Background swap: {swap['cleared']:,} of {_plural(swap['checked'], 'other flag')} cleared (a probe"
                " that cannot read backgrounds prefers the given label)"
            )
            if swap.get("doubtful"):
                summary += (
                    f"; {swap.get('raised', 0):,} of {_plural(swap['doubtful'], 'doubtful unflagged sample')} flagged"
                    " (that probe all but rules their label out)"
                )
            summary += "."
    elif isinstance(instances, dict) and instances.get("reason"):
        summary += f" Same-object matching did not run: {instances['reason']}."
    review = _url("review_queue_create", version=result["version"], proposal_run=result["proposal_run"])
    links = [ResultLink("Review these proposals", review, next_step=True)]
    return JobOutcome(summary, links + _version_links(_version(result["version"])))


def _model_steps(model_id: int, version_id: Any) -> list[ResultLink]:
    query = {"trained_model": model_id, "version": version_id if isinstance(version_id, int) else None}
    gpu = Capability.RUN_GPU_JOBS
    return [
        ResultLink("Evaluate this model", _url("evaluation_start", **query), next_step=True, capability=gpu),
        ResultLink("Explain", _url("explanation_start", **query), next_step=True, capability=gpu),
        ResultLink("Find spurious features", _url("spurious_report_start", **query), next_step=True, capability=gpu),
    ]


@outcome_for("train")
def _trained(result: dict[str, Any], job: Job) -> JobOutcome:
    run = training_run_get(run_id=result["run"])
    summary = (
        f"Trained {_plural(result['epochs'], 'epoch')}; best validation accuracy"
        f" {_percent(result['best_val_accuracy'])} at epoch {result['best_epoch']}."
    )
    links = [
        ResultLink(
            f"Model {result['trained_model']} (training run {result['run']})",
            _url("training_run_detail", result["run"]),
        )
    ]
    links += _model_steps(result["trained_model"], run.version_id if run else None)
    return JobOutcome(summary, links)


@outcome_for("evaluate")
def _evaluated(result: dict[str, Any], job: Job) -> JobOutcome:
    run = evaluation_run_get(result["evaluation_run"])
    suites = ", ".join(str(suite) for suite in result.get("suites") or []) or "clean"
    summary = f"Top-1 accuracy {_percent(result['top1'])} on {_plural(result['samples'], 'sample')} ({suites})."
    links = [
        ResultLink(f"Evaluation report {result['evaluation_run']}", _url("evaluation_report", result["evaluation_run"]))
    ]
    if run is not None:
        links += [step for step in _model_steps(run.trained_model_id, run.version_id) if "Evaluate" not in step.label]
    return JobOutcome(summary, links)


@outcome_for("explain")
def _explained(result: dict[str, Any], job: Job) -> JobOutcome:
    run = explanation_run_get(result["explanation_run"])
    summary = (
        f"{result.get('method', 'Grad-CAM')} maps of {_plural(result['samples'], 'sample')}; background reliance"
        f" {_percent(result.get('background_reliance'))}, pointing game {_percent(result.get('pointing_game'))}."
    )
    run_id = result["explanation_run"]
    links = [
        ResultLink(f"Explanation report {run_id}", _url("explanation_report", run_id)),
        ResultLink("Gallery", _url("explanation_gallery", run_id)),
    ]
    if run is not None and run.trained_model_id is not None:
        links += [step for step in _model_steps(run.trained_model_id, run.version_id) if "spurious" in step.label]
    return JobOutcome(summary, links)


@outcome_for("find_spurious")
def _spurious(result: dict[str, Any], job: Job) -> JobOutcome:
    top = result.get("top_features") or {}
    features = [f"{name}: {feature['value']}" for name, feature in top.items() if isinstance(feature, dict)]
    summary = (
        f"Worst-group accuracy {_percent(result.get('worst_group_accuracy'))} against"
        f" {_percent(result.get('mean_accuracy'))} overall on {_plural(result.get('samples'), 'sample')}"
    )
    summary += f"; top features: {', '.join(features[:3])}." if features else "."
    report_id = result["spurious_report"]
    links = [
        ResultLink(f"Spurious-feature report {report_id}", _url("spurious_report", report_id)),
        ResultLink(
            "Generate counter-examples",
            _url("synthetic_batch_new", report=report_id),
            next_step=True,
            capability=Capability.CURATE,
        ),
    ]
    return JobOutcome(summary, links)


@outcome_for("export_version")
def _exported(result: dict[str, Any], job: Job) -> JobOutcome:
    files = result.get("files") or []
    summary = (
        f"Exported {_plural(result['samples'], 'sample')} as {result.get('format', 'files')}"
        f" ({_plural(len(files), 'file')}, {filesizeformat(result.get('size') or 0)})."
    )
    links = [ResultLink("Download from the exports page", _url("export_list"), next_step=True)]
    return JobOutcome(summary, links + _version_links(_version(result["version"])))


@outcome_for("synthetic_generate")
def _generated(result: dict[str, Any], job: Job) -> JobOutcome:
    summary = f"Generated {_plural(result['images'], 'image')} for batch {result['batch']}"
    if isinstance(result.get("flagged"), int):
        summary += f"; {result['flagged']:,} flagged for a second look"
    links = [
        ResultLink(f"Synthetic batch {result['batch']}", _url("synthetic_batch_detail", result["batch"])),
        ResultLink("Review the images", _url("synthetic_batch_review", result["batch"]), next_step=True),
    ]
    return JobOutcome(f"{summary}.", links + _version_links(_version(result.get("version"))))


@outcome_for("estimate_masks")
def _masked(result: dict[str, Any], job: Job) -> JobOutcome:
    """'N masks estimated with P on version V; median IoU X against the dataset's own masks' (or none to compare)."""
    version = _version(result["version"])
    where = f"{version.dataset.name} v{version.number}" if version is not None else f"version {result['version']}"
    summary = f"{_plural(result['masks'], 'mask')} estimated with {result.get('provider', 'the provider')} on {where}"
    quality = result.get("quality") or {}
    if isinstance(quality, dict) and "median_iou" in quality:
        summary += f"; median IoU {quality['median_iou']:.2f} against the dataset's own masks"
        summary += f" ({_plural(quality.get('compared'), 'image')} compared)"
    else:
        summary += "; no true masks to compare"
    links = _version_links(version)
    if version is not None:
        links.append(ResultLink("Masks of this version", _url("version_masks", version.dataset_id, version.number)))
    links.append(
        ResultLink("Find spurious features", _url("spurious_report_start", version=result["version"]), next_step=True)
    )
    return JobOutcome(f"{summary}.", links)
