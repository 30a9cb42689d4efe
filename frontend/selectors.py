# Over 300 lines: the page reads no app's selectors answer (form choices, cross-app rows, the dataset page's Loop
# section), one small function each.
"""Reads of the pages that no app's selectors answer: the choices a form lists, a page's rows across apps,
and the dataset page's "Loop" section (what has been made from one version).

Pages read through selectors only (this module or an app's), never the ORM; see docs/ARCHITECTURE.md §Pages.
The loop is import -> embed -> duplicates -> clusters -> prune -> review -> train -> evaluate / explain /
spurious -> export. For each stage the version's newest few rows (with links), how many there are, and
the action that starts the stage; the first stage with nothing made yet is the version's next step.
"""

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import connection
from django.db.models import BooleanField, CharField, DateTimeField, F, JSONField, QuerySet, Subquery, Value
from django.db.models.functions import Cast
from django.urls import reverse

from core.roles import Capability, user_can
from core.sql_rows import ModelColumns
from curation.embeddings.models import DuplicateGroup, DuplicateRun, EmbeddingMap, EmbeddingSet, EmbeddingSetStatus
from curation.exports.models import Export
from curation.models import Dataset, DatasetVersion, Sample, SampleAlias, SampleTag, VersionSample
from curation.pruning.models import Cluster, ClusterRun, PruneRun
from curation.review.models import (
    ItemState,
    ProposalRun,
    ProposalSource,
    QueueStatus,
    ReviewItem,
    ReviewQueue,
    TaxonomyChange,
)
from curation.sample_sorts import RUN_SORTS
from explain.models import ExplanationRun
from explain.slices.models import SliceReport
from explain.spurious.models import SpuriousReport
from jobs.models import Job
from robustness.evaluation.models import EvaluationRun
from robustness.models import TrainingRun

LOOP_ROWS_SHOWN = 5
VERSION_CHOICES = 100
BULK_QUEUES_SHOWN = 10
# The grid's set filters list the newest runs of the version, and a duplicate run's largest groups.
GRID_SET_RUNS_SHOWN = 3
GRID_SET_GROUPS_SHOWN = 200


# --- what the pages' forms offer -------------------------------------------------------------------


def version_choices(limit: int = VERSION_CHOICES) -> QuerySet[DatasetVersion]:
    """The newest versions (with their dataset), as the start forms list them."""
    return DatasetVersion.objects.select_related("dataset").order_by("-id")[:limit]


def version_get(version_id: Any) -> DatasetVersion | None:
    """A version with its dataset by id (None for a missing version or an id that is not a number)."""
    if isinstance(version_id, str):
        version_id = int(version_id) if version_id.isdigit() else None
    if not isinstance(version_id, int) or isinstance(version_id, bool):
        return None
    return DatasetVersion.objects.select_related("dataset").filter(pk=version_id).first()


_VERSION, _DATASET, _JOB = ModelColumns(DatasetVersion, "v"), ModelColumns(Dataset, "d"), ModelColumns(Job, "j")
_DATASET_AT, _JOB_AT = _VERSION.width, _VERSION.width + _DATASET.width
# What select_related("dataset", "job") reads, as fixed text: every grid and sample page request reads its version so
# (compiling the ORM's query cost more of a request's CPU than the database spent on it).
_VERSION_OF_DATASET_SQL = f"""
SELECT {_VERSION.select}, {_DATASET.select}, {_JOB.select}
FROM "{DatasetVersion._meta.db_table}" v JOIN "{Dataset._meta.db_table}" d ON d."id" = v."dataset_id"
    LEFT JOIN "{Job._meta.db_table}" j ON j."id" = v."job_id"
WHERE v."dataset_id" = %s AND v."number" = %s
"""  # noqa: S608


def version_of_dataset(*, dataset_id: int, number: int) -> DatasetVersion | None:
    """Version `number` of a dataset with its dataset and job (the grid, the sample page, the export form)."""
    with connection.cursor() as cursor:
        cursor.execute(_VERSION_OF_DATASET_SQL, [dataset_id, number])
        row = cursor.fetchone()
    if row is None:
        return None
    version = _VERSION.build(row[:_DATASET_AT])
    version.dataset = _DATASET.build(row[_DATASET_AT:_JOB_AT])
    version.job = _JOB.build_at(row, _JOB_AT)
    return version


def dataset_versions_with_parents(dataset: Dataset) -> list[DatasetVersion]:
    """A dataset's versions newest first, each with its parent (the dataset page's table)."""
    return list(dataset.versions.select_related("parent").order_by("-number"))


def reviewer_choices() -> list[Any]:
    """Active users who may review, by name (the reviewers a queue can be given)."""
    users = get_user_model().objects.filter(is_active=True).order_by("username")
    return [user for user in users if user_can(user, Capability.REVIEW)]


def bulk_label_queues(
    user: AbstractBaseUser | AnonymousUser, version: DatasetVersion, limit: int = BULK_QUEUES_SHOWN
) -> list[ReviewQueue]:
    """Open review queues of `version` that `user` is assigned to, newest first: a selection of samples can
    be labeled there (none for a user who may not review)."""
    if not user_can(user, Capability.REVIEW) or user.pk is None:
        return []
    queues = ReviewQueue.objects.filter(version=version, status=QueueStatus.OPEN, reviewers__pk=user.pk)
    return list(queues.order_by("-id")[:limit])


@dataclass(frozen=True)
class SetChoiceGroup:
    """One run's sets as a grid filter's <optgroup>: options are ("<run id>:<member>", text); `notes` are shown
    as disabled options (why a run offers nothing, e.g. it was made before its per-sample rows were stored)."""

    label: str
    options: list[tuple[str, str]]
    notes: list[str] = field(default_factory=list)


def _sort_group(key: str, run_pk: int, label: str, stored: bool, missing: str) -> SetChoiceGroup:
    """A run's two orders of the grid's sort menu ("<sort>:<run id>"), or why it has none."""
    kind = RUN_SORTS.get(key)
    if kind is None:
        return SetChoiceGroup(label, [])
    if not stored:
        return SetChoiceGroup(label, [], [f"{kind.title}: {missing}"])
    return SetChoiceGroup(
        label,
        [
            (f"-{key}:{run_pk}", f"{kind.title}, {kind.descending}"),
            (f"{key}:{run_pk}", f"{kind.title}, {kind.ascending}"),
        ],
    )


@dataclass(frozen=True)
class _ReportRow:
    """A run, report or tag of the grid's menus: `text` and `count` are a proposal run's source and issue count, an
    evaluation's model name and prediction count, a cluster run's k or a tag's name; `data` a slice report's results
    or the evaluated classes; `stored` whether a cluster or duplicate run stored its per-sample rows; `made` when a
    cluster or duplicate run was made (their clusters and groups are written with them, and never change)."""

    kind: str
    pk: int
    text: str
    count: int
    data: Any
    stored: bool
    made: Any = None


def _grid_menu_query(version_id: int, dataset_id: int) -> QuerySet[Any]:
    """The UNION of `_grid_menu_rows`: each kind's newest rows of the version, and the dataset's tags."""

    def newest(rows: QuerySet[Any], kind: str, **columns: Any) -> QuerySet[Any]:
        ids = rows.order_by("-id").values("pk")[:GRID_SET_RUNS_SHOWN]
        # No ORDER BY in a part of the UNION (the models' default ordering): SQLite refuses it.
        return menu_part(rows.model.objects.filter(pk__in=Subquery(ids)), kind, **columns)

    def menu_part(rows: QuerySet[Any], kind: str, **columns: Any) -> QuerySet[Any]:
        columns = {
            "menu_text": Value("", output_field=CharField()),
            "menu_count": Value(0),
            "menu_data": Value(None, output_field=JSONField()),
            "menu_stored": Value(False, output_field=BooleanField()),
            "menu_made": Cast(Value(None), output_field=DateTimeField()),  # (typed: PostgreSQL's UNION needs it)
        } | columns
        rows = rows.order_by().annotate(menu_kind=Value(kind, output_field=CharField()))
        return rows.annotate(**columns).values_list(
            "menu_kind", "pk", "menu_text", "menu_count", "menu_data", "menu_stored", "menu_made"
        )

    return newest(SliceReport.objects.filter(version_id=version_id), "slice", menu_data=F("results")).union(
        newest(
            ProposalRun.objects.filter(version_id=version_id),
            "proposal",
            menu_text=F("source"),
            menu_count=F("issue_count"),
            menu_data=F("params"),
        ),
        newest(
            EvaluationRun.objects.filter(version_id=version_id),
            "evaluation",
            menu_text=F("trained_model__name"),
            menu_count=F("prediction_count"),
            menu_data=F("trained_model__classes"),
        ),
        newest(
            ClusterRun.objects.filter(version_id=version_id).exclude(assignment_key=""),
            "cluster",
            menu_count=F("n_clusters"),
            menu_stored=F("members_stored"),
            menu_made=F("created_at"),
        ),
        newest(
            DuplicateRun.objects.filter(version_id=version_id),
            "duplicate",
            menu_stored=F("members_stored"),
            menu_made=F("created_at"),
        ),
        menu_part(SampleTag.objects.filter(dataset_id=dataset_id), "tag", menu_text=F("name")),
        all=True,
    )


# The menus' UNION as SQL text, compiled once per process (and database vendor) with these two ids in its parameters'
# places: compiling its six parts took more of a grid request's CPU than PostgreSQL spends running it.
_MENU_VERSION, _MENU_DATASET = -7_000_000_001, -7_000_000_002
_MENU_STATEMENTS: dict[str, tuple[str, tuple[Any, ...]]] = {}


def _grid_menu_statement(version: DatasetVersion) -> tuple[str, list[Any]]:
    if connection.vendor not in _MENU_STATEMENTS:
        query = _grid_menu_query(_MENU_VERSION, _MENU_DATASET).query
        _MENU_STATEMENTS[connection.vendor] = query.sql_with_params()
    sql, params = _MENU_STATEMENTS[connection.vendor]
    ids = {_MENU_VERSION: version.pk, _MENU_DATASET: version.dataset_id}
    return sql, [ids.get(param, param) if type(param) is int else param for param in params]


def _grid_menu_rows(version: DatasetVersion) -> dict[str, list[_ReportRow]]:
    """The version's newest finished cluster runs, duplicate runs, failure-slice reports, proposal runs and
    evaluations, and its dataset's tags, in one UNION query (the grid's menus stay a fixed number of queries), newest
    first per kind (tags by name)."""
    sql, params = _grid_menu_statement(version)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = [
            _ReportRow(kind, pk, text, count, json.loads(data) if isinstance(data, str) else data, bool(stored), made)
            for kind, pk, text, count, data, stored, made in cursor.fetchall()
        ]
    found: dict[str, list[_ReportRow]] = {kind: [] for kind in ("slice", "proposal", "evaluation", "cluster")}
    found |= {"duplicate": [], "tag": []}
    for row in sorted(rows, key=lambda row: -row.pk):
        found[row.kind].append(row)
    found["tag"].sort(key=lambda row: row.text)
    return found


def _prediction_group(run: _ReportRow) -> SetChoiceGroup:
    label = f"Evaluation run {run.pk} ({run.text})"
    if not run.count:
        return SetChoiceGroup(label, [], ["no stored predictions (the run is unfinished, or older than them)"])
    options = [(f"{run.pk}:error", "wrong (prediction ≠ label)"), (f"{run.pk}:correct", "right (prediction = label)")]
    return SetChoiceGroup(label, options + [(f"{run.pk}:class:{name}", f"predicted {name}") for name in run.data or []])


def _duplicate_groups_shown(run_ids: list[int]) -> dict[int, list[tuple[int, str, int]]]:
    """(number, kind, size) of each duplicate run's largest groups, largest first: one query for all the runs, a
    UNION of each run's largest groups, each found by walking the (run, size desc, number) index for the first
    GRID_SET_GROUPS_SHOWN of them (not by ranking all of a run's groups)."""
    if not run_ids:
        return {}

    def largest(run_id: int) -> QuerySet[Any]:
        first = DuplicateGroup.objects.filter(run_id=run_id).order_by("-size", "number").values("pk")
        groups = DuplicateGroup.objects.filter(pk__in=Subquery(first[:GRID_SET_GROUPS_SHOWN])).order_by()
        return groups.values_list("run_id", "number", "kind", "size")

    rows = largest(run_ids[0]).union(*(largest(run_id) for run_id in run_ids[1:]), all=True)
    shown: dict[int, list[tuple[int, str, int]]] = {run_id: [] for run_id in run_ids}
    for run_id, number, kind, size in sorted(rows, key=lambda row: (row[0], -row[3], row[1])):
        shown[run_id].append((number, kind, size))
    return shown


@dataclass(frozen=True)
class GridMenus:
    """What the grid's menus list: the set filters and sorts (`grid_set_choices`) and the dataset's tags; `rows` what
    they were made from, and `markup` their HTML once written (frontend.templatetags.sample_grid.menu_markup)."""

    choices: dict[str, list[SetChoiceGroup]]
    tag_names: list[str]
    rows: dict[str, list[_ReportRow]] = field(default_factory=dict, repr=False)
    markup: dict[str, str] = field(default_factory=dict, compare=False, repr=False)


# The grid's menus of the versions whose menus were made last, in this process: a version's menus are made again only
# when the rows they are made from differ (a run made or deleted, a run's per-sample rows stored, a tag added or
# removed).
GRID_MENUS_KEPT = 32
_GRID_MENUS: dict[int, GridMenus] = {}


def grid_menus(version: DatasetVersion) -> GridMenus:
    """The grid's filter menus from the version's newest runs: every cluster of a finished cluster run, a duplicate
    run's largest groups, every slice of a report, an evaluation's predictions ("prediction"); its sort menu's orders
    by a run's per-sample values ("sort": issue score, duplicate group size, prediction confidence, distance to the
    cluster centroid; runs made before their per-sample rows were stored say so there); and the dataset's tags.

    One query when the runs and tags (a UNION) are those the version's menus were last made from in this process
    (the same menus are returned); else two more: the runs' clusters and the duplicate runs' groups."""
    rows = _grid_menu_rows(version)
    kept = _GRID_MENUS.get(version.pk)
    if kept is not None and kept.rows == rows:
        return kept
    menus = _grid_menus_make(rows)
    _GRID_MENUS.pop(version.pk, None)
    for made_first in list(_GRID_MENUS)[: max(0, len(_GRID_MENUS) + 1 - GRID_MENUS_KEPT)]:
        _GRID_MENUS.pop(made_first, None)  # (another request's thread may have taken it out already)
    _GRID_MENUS[version.pk] = menus
    return menus


def _grid_menus_make(rows: dict[str, list[_ReportRow]]) -> GridMenus:
    cluster_runs = rows["cluster"]
    sizes: dict[int, list[tuple[int, int]]] = {run.pk: [] for run in cluster_runs}
    if cluster_runs:
        clusters = Cluster.objects.filter(cluster_run_id__in=list(sizes)).order_by("cluster_run_id", "index")
        for run_id, index, size in clusters.values_list("cluster_run_id", "index", "size"):
            sizes[run_id].append((index, size))
    clusters_menu = [
        SetChoiceGroup(
            f"Cluster run {run.pk} (k={run.count})",
            [(f"{run.pk}:{index}", f"cluster {index} ({size})") for index, size in sizes[run.pk]],
        )
        for run in cluster_runs
    ]
    duplicate_runs = rows["duplicate"]
    groups = _duplicate_groups_shown([run.pk for run in duplicate_runs])
    duplicates = [
        SetChoiceGroup(
            f"Duplicate run {run.pk}",
            [(f"{run.pk}:{number}", f"group {number}, {kind} ({size})") for number, kind, size in groups[run.pk]],
        )
        for run in duplicate_runs
    ]
    slices = []
    for report in rows["slice"]:
        found = (report.data or {}).get("slices") or []
        options = [(f"{report.pk}:{s['number']}", f"slice {s['number']}: {s['class']} ({s['size']})") for s in found]
        slices.append(SetChoiceGroup(f"Failure-slice report {report.pk}", options))
    proposal_runs, evaluations = rows["proposal"], rows["evaluation"]
    older = "made before per-sample values were stored"
    sorts = [
        *(
            _sort_group(
                "issue_score",
                run.pk,
                f"Proposal run {run.pk} ({ProposalSource(run.text).label})",
                run.count > 0,
                "no issue scores",
            )
            for run in proposal_runs
        ),
        *(
            _sort_group("duplicate_size", run.pk, f"Duplicate run {run.pk}", run.stored, older)
            for run in duplicate_runs
        ),
        *(
            _sort_group(
                "confidence", run.pk, f"Evaluation run {run.pk} ({run.text})", run.count > 0, "no stored predictions"
            )
            for run in evaluations
        ),
        *(
            _sort_group("cluster_distance", run.pk, f"Cluster run {run.pk} (k={run.count})", run.stored, older)
            for run in cluster_runs
        ),
    ]
    choices = {
        "cluster": clusters_menu,
        "duplicate_group": duplicates,
        "slice": slices,
        "prediction": [_prediction_group(run) for run in evaluations],
        "sort": [group for group in sorts if group.options or group.notes],
    }
    return GridMenus(choices=choices, tag_names=[row.text for row in rows["tag"]], rows=rows)


def grid_set_choices(version: DatasetVersion) -> dict[str, list[SetChoiceGroup]]:
    """The grid's set filters and sorts (see `grid_menus`)."""
    return grid_menus(version).choices


def dataset_tag_names(dataset: Dataset) -> list[str]:
    """The dataset's sample tags, by name (the grid's tag filter and tag action)."""
    return list(SampleTag.objects.filter(dataset=dataset).order_by("name").values_list("name", flat=True))


@dataclass(frozen=True)
class SampleNames:
    """What the sample page lists beside the image: `aliases`, the other file names under which the sample's exact
    bytes were imported (its exact-duplicate group) in import order, its own name left out (ingest records it as an
    alias too), as curation.selectors.sample_duplicate_names gives them; and `tags`, the sample's tags by name."""

    aliases: list[str]
    tags: list[str]


_TAGGED = SampleTag._meta.get_field("samples")
# The aliases by id and the tags by name (in the database's collation, as order_by("name") sorts them), in one
# statement of fixed text: the sample page reads both on every request.
_SAMPLE_NAMES_SQL = f"""
SELECT 0, a."original_name", a."id" FROM "{SampleAlias._meta.db_table}" a WHERE a."sample_id" = %s
UNION ALL
SELECT 1, t."name", 0 FROM "{SampleTag._meta.db_table}" t
    JOIN "{_TAGGED.m2m_db_table()}" m ON m."{_TAGGED.m2m_column_name()}" = t."id"
WHERE m."{_TAGGED.m2m_reverse_name()}" = %s
ORDER BY 1, 3, 2
"""  # noqa: S608


def sample_names(sample: Sample) -> SampleNames:
    """The sample's other file names and its tags (see SampleNames), in one query."""
    with connection.cursor() as cursor:
        cursor.execute(_SAMPLE_NAMES_SQL, [sample.pk, sample.pk])
        rows = cursor.fetchall()
    aliases = dict.fromkeys(name for kind, name, _ in rows if kind == 0 and name != sample.original_name)
    return SampleNames(aliases=list(aliases), tags=[name for kind, name, _ in rows if kind == 1])


def open_queue_of_version(*, queue_id: int, version: DatasetVersion) -> ReviewQueue | None:
    return ReviewQueue.objects.filter(pk=queue_id, version=version, status=QueueStatus.OPEN).first()


def finished_spurious_reports(limit: int = VERSION_CHOICES) -> list[Any]:
    """Spurious-feature reports with results, newest first (the synthetic plan form offers them as avoid lists)."""
    reports = SpuriousReport.objects.select_related("version__dataset", "trained_model").exclude(results={})
    return list(reports.order_by("-id")[:limit])


# --- rows of one page ----------------------------------------------------------------------------


def taxonomy_changes(dataset: Dataset) -> QuerySet[TaxonomyChange]:
    """A dataset's recorded taxonomy changes, newest first, with who made them."""
    return TaxonomyChange.objects.filter(dataset=dataset).select_related("changed_by").order_by("-id")


@dataclass(frozen=True)
class QueueOverview:
    """What a review queue's page shows beside its progress: its first items and the curators' choices."""

    items: list[ReviewItem]
    assigned_ids: set[int]
    base_versions: QuerySet[DatasetVersion]
    disputed: int


def review_queue_overview(queue: ReviewQueue, *, items_shown: int) -> QueueOverview:
    return QueueOverview(
        items=list(queue.items.select_related("sample").order_by("position")[:items_shown]),
        assigned_ids=set(queue.reviewers.values_list("pk", flat=True)),
        base_versions=queue.version.dataset.versions.order_by("-number"),
        disputed=queue.items.filter(state=ItemState.DISPUTED).count(),
    )


def version_embedding_maps(version: DatasetVersion, limit: int = 50) -> QuerySet[EmbeddingMap]:
    """The maps of a version's embedding sets, newest first."""
    return EmbeddingMap.objects.filter(embedding_set__version=version).order_by("-id")[:limit]


def version_latest_map(version: DatasetVersion) -> EmbeddingMap | None:
    return EmbeddingMap.objects.filter(embedding_set__version=version).order_by("-id").first()


def member_labels(version: DatasetVersion, sample_ids: Iterable[int]) -> dict[int, str]:
    """{sample id: primary label} of those of `sample_ids` that are members of `version`."""
    members = VersionSample.objects.filter(version=version, sample_id__in=list(sample_ids))
    return dict(members.values_list("sample_id", "label"))


@dataclass(frozen=True)
class Selection:
    """The members of a version among some requested sample ids: the first `shown` with their samples."""

    members: list[VersionSample]
    member_ids: list[int]


def version_selection(version: DatasetVersion, sample_ids: list[int], *, shown: int) -> Selection:
    in_version = VersionSample.objects.filter(version=version, sample_id__in=sample_ids).order_by("sample_id")
    members = list(in_version.select_related("sample")[:shown])
    return Selection(members, list(in_version.values_list("sample_id", flat=True)))


# --- the loop ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoopRow:
    label: str
    url: str
    note: str = ""


@dataclass
class LoopStage:
    key: str
    title: str
    total: int
    rows: list[LoopRow]
    action: str = ""  # the button that starts this stage ("" where the stage has no start of its own)
    action_url: str = ""
    capability: str = "curate"  # what a user needs for the action
    is_next: bool = False


@dataclass
class VersionLoop:
    stages: list[LoopStage] = field(default_factory=list)

    @property
    def next_stage(self) -> LoopStage | None:
        return next((stage for stage in self.stages if stage.is_next), None)


def _newest(rows: QuerySet) -> tuple[int, list]:
    return rows.count(), list(rows.order_by("-id")[:LOOP_ROWS_SHOWN])


def version_loop(*, version: DatasetVersion) -> VersionLoop:
    """The loop stages of `version`, in loop order, with the first empty startable stage marked as next."""
    dataset_id, number = version.dataset_id, version.number
    embeddings_url = reverse("frontend:embeddings", args=[dataset_id, number])
    has_ready_set = EmbeddingSet.objects.filter(version=version, status=EmbeddingSetStatus.READY).exists()
    stages = [
        _embeddings_stage(version, embeddings_url),
        _duplicates_stage(version, embeddings_url, has_ready_set),
        _clusters_stage(version, has_ready_set),
        _prune_stage(version, has_ready_set),
        _review_stage(version),
        _training_stage(version),
        _reports_stage(version),
        _exports_stage(version),
    ]
    for stage in stages:
        if stage.total == 0 and stage.action:
            stage.is_next = True
            break
    return VersionLoop(stages)


def _embeddings_stage(version: DatasetVersion, embeddings_url: str) -> LoopStage:
    total, sets = _newest(EmbeddingSet.objects.filter(version=version))
    rows = [LoopRow(f"Set {s.pk} · {s.encoder_name}", embeddings_url, f"{s.rows:,} rows, {s.status}") for s in sets]
    return LoopStage("embeddings", "Embeddings", total, rows, "Embed this version", f"{embeddings_url}#start-title")


def _duplicates_stage(version: DatasetVersion, embeddings_url: str, has_ready_set: bool) -> LoopStage:
    total, runs = _newest(DuplicateRun.objects.filter(version=version))
    rows = [
        LoopRow(
            f"Duplicate run {run.pk}",
            reverse("frontend:duplicate_run", args=[run.pk]),
            f"{run.exact_group_count:,} exact, {run.near_group_count:,} near groups",
        )
        for run in runs
    ]
    action = "Find duplicates" if has_ready_set else ""
    return LoopStage("duplicates", "Duplicates", total, rows, action, f"{embeddings_url}#start-title")


def _clusters_stage(version: DatasetVersion, has_ready_set: bool) -> LoopStage:
    url = reverse("frontend:cluster_runs", args=[version.dataset_id, version.number])
    total, runs = _newest(ClusterRun.objects.filter(version=version))
    rows = [LoopRow(f"Cluster run {run.pk}", f"{url}?run={run.pk}", f"{run.n_clusters:,} clusters") for run in runs]
    return LoopStage("clusters", "Clusters", total, rows, "Cluster" if has_ready_set else "", url)


def _prune_stage(version: DatasetVersion, has_ready_set: bool) -> LoopStage:
    total, runs = _newest(PruneRun.objects.filter(version=version))
    rows = [
        LoopRow(
            f"Prune run {run.pk} · {run.method}",
            reverse("frontend:prune_run_detail", args=[run.pk]),
            f"keeps {run.n_kept:,}, removes {run.n_removed:,} ({run.get_status_display().lower()})",
        )
        for run in runs
    ]
    url = reverse("frontend:prune_start", args=[version.dataset_id, version.number])
    return LoopStage("prune", "Prune runs", total, rows, "Prune" if has_ready_set else "", url)


def _review_stage(version: DatasetVersion) -> LoopStage:
    total, queues = _newest(ReviewQueue.objects.filter(version=version))
    rows = [
        LoopRow(queue.name, reverse("frontend:review_queue_detail", args=[queue.pk]), queue.get_status_display())
        for queue in queues
    ]
    url = f"{reverse('frontend:review_queue_create')}?version={version.pk}"
    return LoopStage("review", "Review queues", total, rows, "Create a review queue", url)


def _training_stage(version: DatasetVersion) -> LoopStage:
    total, runs = _newest(TrainingRun.objects.filter(version=version).select_related("job", "trained_model"))
    rows = []
    for run in runs:
        model = getattr(run, "trained_model", None)
        label = f"Model {model.pk} · {model.name}" if model else f"Training run {run.pk} · {run.arch}"
        note = f"val accuracy {model.metrics.get('val_accuracy', 0):.1%}" if model else run.job.get_status_display()
        rows.append(LoopRow(label, reverse("frontend:training_run_detail", args=[run.pk]), note))
    url = f"{reverse('frontend:training_run_list')}?version={version.pk}#training-start-title"
    return LoopStage("models", "Models trained on it", total, rows, "Train a model", url, "run_gpu_jobs")


def _reports_stage(version: DatasetVersion) -> LoopStage:
    evaluations = EvaluationRun.objects.filter(version=version)
    explanations = ExplanationRun.objects.filter(version=version)
    spurious = SpuriousReport.objects.filter(version=version)
    total = evaluations.count() + explanations.count() + spurious.count()
    rows = [
        LoopRow(f"Evaluation {run.pk}", reverse("frontend:evaluation_report", args=[run.pk]), "robustness")
        for run in evaluations.order_by("-id")[:LOOP_ROWS_SHOWN]
    ]
    rows += [
        LoopRow(f"Explanation {run.pk}", reverse("frontend:explanation_report", args=[run.pk]), run.method)
        for run in explanations.order_by("-id")[:LOOP_ROWS_SHOWN]
    ]
    rows += [
        LoopRow(f"Spurious features {report.pk}", reverse("frontend:spurious_report", args=[report.pk]), "flip test")
        for report in spurious.order_by("-id")[:LOOP_ROWS_SHOWN]
    ]
    url = f"{reverse('frontend:evaluation_start')}?version={version.pk}"
    has_model = TrainingRun.objects.filter(version=version, trained_model__isnull=False).exists()
    action = "Evaluate a model" if has_model else ""
    return LoopStage("reports", "Reports", total, rows, action, url, "run_gpu_jobs")


def _exports_stage(version: DatasetVersion) -> LoopStage:
    total, exports = _newest(Export.objects.filter(version=version))
    url = reverse("frontend:export_list")
    rows = [LoopRow(f"Export {e.pk} · {e.get_format_display()}", url, f"{e.sample_count:,} samples") for e in exports]
    action_url = reverse("frontend:version_export", args=[version.dataset_id, version.number])
    return LoopStage("exports", "Exports", total, rows, "Export", action_url)
