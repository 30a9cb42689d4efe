"""Reads of explanation runs: lists, score summaries per class, the gallery, side-by-side pairs, figures.

Undefined scores stay undefined: a sample without a mask has no pointing-game hit nor energy
share, and averages are taken over the samples that have the score (None when none has it), so
"absent" never reads as zero.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, F, QuerySet

from core.figures import BLUE, GREEN, ORANGE, figure
from explain.models import ExplanationRun, SampleExplanation

SCORE_FIELDS = ("pointing_hit", "energy_inside", "background_reliance", "road_combined", "confidence_drop")
GALLERY_SORTS = {
    "reliance_desc": "background reliance, highest first",
    "reliance_asc": "background reliance, lowest first",
    "confidence_desc": "confidence, highest first",
    "sample": "sample id",
}


def explanation_run_list(
    *, version_id: int | None = None, trained_model_id: int | None = None
) -> QuerySet[ExplanationRun]:
    """Runs newest first, with their model, version, dataset and job loaded."""
    runs = ExplanationRun.objects.select_related("trained_model", "version__dataset", "job")
    if version_id is not None:
        runs = runs.filter(version_id=version_id)
    if trained_model_id is not None:
        runs = runs.filter(trained_model_id=trained_model_id)
    return runs.order_by("-id")


def explanation_run_get(run_id: int) -> ExplanationRun | None:
    return explanation_run_list().filter(pk=run_id).first()


def raw_map_files(run: ExplanationRun) -> list[dict[str, Any]]:
    """The run's stored .npz files of unscaled maps, in batch order: name (the file's), key, samples in it."""
    rows = SampleExplanation.objects.filter(run=run).values("raw_key").annotate(samples=Count("id")).order_by("raw_key")
    files = rows.values_list("raw_key", "samples")
    return [{"name": key.rsplit("/", 1)[-1], "key": key, "samples": samples} for key, samples in files]


def raw_map_file_key(run: ExplanationRun, name: str) -> str | None:
    """The storage key of the run's .npz called `name`, or None when no sample of the run was stored in it."""
    rows = SampleExplanation.objects.filter(run=run, raw_key__endswith=f"/{name}")
    return rows.values_list("raw_key", flat=True).first()


def run_label(run: ExplanationRun) -> str:
    """'#7 gradcam of small-demo (deleted) on demo v1' — how pages name a run."""
    deleted = " (deleted)" if run.model_deleted else ""
    return f"#{run.pk} {run.method} of {run.model_name}{deleted} on {run.version.dataset.name} v{run.version.number}"


def _mean(values: Iterable[float | bool | None]) -> float | None:
    present = [float(v) for v in values if v is not None]
    return sum(present) / len(present) if present else None


def _scores(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Counts and mean scores of some sample rows (None where no row has the score)."""
    return {
        "count": len(rows),
        "with_mask": sum(1 for row in rows if row["has_mask"]),
        "accuracy": _mean(row["correct"] for row in rows),
        "pointing_game": _mean(row["pointing_hit"] for row in rows),
        "energy_inside": _mean(row["energy_inside"] for row in rows),
        "background_reliance": _mean(row["background_reliance"] for row in rows),
        "road_combined": _mean(row["road_combined"] for row in rows),
        "confidence_drop": _mean(row["confidence_drop"] for row in rows),
    }


def _score_rows(run: ExplanationRun) -> list[dict[str, Any]]:
    fields = ("label", "correct", "has_mask", "own_background", *SCORE_FIELDS)
    return list(SampleExplanation.objects.filter(run=run).values(*fields))


def explanation_scores_summary(run: ExplanationRun) -> dict[str, Any]:
    """Overall, per class (true label, in the model's class order), by correctness and by demo background."""
    rows = _score_rows(run)
    per_class = {name: _scores([r for r in rows if r["label"] == name]) for name in run.model_classes}
    by_background = None
    if any(r["own_background"] is not None for r in rows):
        by_background = {
            "own": _scores([r for r in rows if r["own_background"] is True]),
            "other": _scores([r for r in rows if r["own_background"] is False]),
        }
    return {
        "overall": _scores(rows),
        "per_class": {name: scores for name, scores in per_class.items() if scores["count"]},
        "misclassified": _scores([r for r in rows if not r["correct"]]),
        "correct": _scores([r for r in rows if r["correct"]]),
        "by_background": by_background,
    }


def background_reliance_by_class(run: ExplanationRun) -> dict[str, float | None]:
    """Mean share of CAM energy outside the object mask per true class (every model class; None: no masked sample)."""
    rows = SampleExplanation.objects.filter(run=run, background_reliance__isnull=False)
    values: dict[str, list[float]] = {name: [] for name in run.model_classes}
    for label, reliance in rows.values_list("label", "background_reliance"):
        values.setdefault(label, []).append(float(reliance or 0.0))  # non-null by the filter
    return {name: _mean(found) for name, found in values.items()}


def explanation_summary(run: ExplanationRun) -> dict[str, Any]:
    """The headline of a run for the API, the command and the report (scores None until it has rows)."""
    summary = run.summary or explanation_scores_summary(run)
    return {
        "explanation_run": run.pk,
        "status": run.status,
        "model": run.model_name,
        "model_deleted": run.model_deleted,
        "method": run.method,
        "target_layer": run.target_layer,
        "version": run.version_id,
        "split": run.split,
        "samples": summary["overall"]["count"],
        **{key: summary["overall"][key] for key in ("accuracy", "with_mask", *SCORE_FIELDS[1:])},
        "pointing_game": summary["overall"]["pointing_game"],
        "background_reliance_by_class": background_reliance_by_class(run),
    }


@dataclass(frozen=True)
class GalleryFilters:
    label: str | None = None
    correct: bool | None = None
    has_mask: bool | None = None
    own_background: bool | None = None
    min_reliance: float | None = None
    sort: str = "reliance_desc"
    misclassified_first: bool = True


def _ordering(sort: str, misclassified_first: bool) -> list[Any]:
    by = {
        "reliance_desc": [F("background_reliance").desc(nulls_last=True)],
        "reliance_asc": [F("background_reliance").asc(nulls_last=True)],
        "confidence_desc": [F("confidence").desc()],
        "sample": [],
    }[sort]
    return [*(["correct"] if misclassified_first else []), *by, "sample_id"]


def sample_explanation_list(run: ExplanationRun, filters: GalleryFilters) -> QuerySet[SampleExplanation]:
    """A run's sample rows filtered and ordered for the gallery (misclassified first by default)."""
    if filters.sort not in GALLERY_SORTS:
        raise ValueError(f"unknown sort {filters.sort!r}; known: {', '.join(GALLERY_SORTS)}")
    rows = SampleExplanation.objects.filter(run=run)
    conditions = {
        "label": filters.label,
        "correct": filters.correct,
        "has_mask": filters.has_mask,
        "own_background": filters.own_background,
    }
    rows = rows.filter(**{name: value for name, value in conditions.items() if value is not None})
    if filters.min_reliance is not None:
        rows = rows.filter(background_reliance__gte=filters.min_reliance)
    return rows.order_by(*_ordering(filters.sort, filters.misclassified_first))


def class_counts(run: ExplanationRun) -> list[tuple[str, int, int]]:
    """(class, samples, misclassified) per class present in the run, in the model's class order."""
    counts: dict[str, list[int]] = {}
    for label, correct in SampleExplanation.objects.filter(run=run).values_list("label", "correct"):
        entry = counts.setdefault(label, [0, 0])
        entry[0] += 1
        entry[1] += 0 if correct else 1
    order = {name: i for i, name in enumerate(run.model_classes)}
    return [(name, n, wrong) for name, (n, wrong) in sorted(counts.items(), key=lambda kv: order.get(kv[0], 1 << 30))]


def compare_pairs(
    left: ExplanationRun, right: ExplanationRun, filters: GalleryFilters, *, limit: int, offset: int = 0
) -> tuple[list[tuple[SampleExplanation, SampleExplanation]], int]:
    """Samples explained in both runs, ordered by the left run's gallery order: (pairs of a page, total pairs)."""
    right_ids = SampleExplanation.objects.filter(run=right).values("sample_id")
    ordered = sample_explanation_list(left, filters).filter(sample_id__in=right_ids)
    total = ordered.count()
    page = list(ordered[offset : offset + limit])
    partners = {
        row.sample_id: row
        for row in SampleExplanation.objects.filter(run=right, sample_id__in=[r.sample_id for r in page])
    }
    return [(row, partners[row.sample_id]) for row in page], total


def run_figures(run: ExplanationRun) -> dict[str, Any]:
    """Plotly figures of the per-class summary: background reliance, pointing game, ROAD and confidence drop."""
    per_class = (run.summary or explanation_scores_summary(run))["per_class"]
    names = list(per_class)
    specs = {
        "reliance-figure": ("background_reliance", "Background reliance", ORANGE, [0, 1]),
        "pointing-figure": ("pointing_game", "Pointing game", BLUE, [0, 1]),
        "road-figure": ("road_combined", "ROAD combined", GREEN, None),
        "drop-figure": ("confidence_drop", "Confidence drop", "#9a5bd8", [0, 1]),
    }
    figures: dict[str, Any] = {}
    for element_id, (key, title, colour, axis_range) in specs.items():
        values = [per_class[name][key] for name in names]
        present = [(n, v) for n, v in zip(names, values, strict=True) if v is not None]
        yaxis: dict[str, Any] = {"title": {"text": title}}
        if axis_range:
            yaxis["range"] = axis_range
        trace: dict[str, Any] = {
            "type": "bar",
            "x": [n for n, _ in present],
            "y": [v for _, v in present],
            "marker": {"color": colour},
            "name": title,
        }
        figures[element_id] = figure(
            [trace] if present else [], height=320, showlegend=False, xaxis={"type": "category"}, yaxis=yaxis
        )
    return figures
