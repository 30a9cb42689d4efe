"""Reads of embedding maps: their points, and the plotly WebGL figure of a view.

A view never sends more than MAP_MAX_POINTS points. Above that, the server draws a uniform sample
of the points inside the view (uniform keeps the density picture), stratified by colour so small
classes stay visible; zooming in asks for the points of the smaller view, down to every point.
Colours: primary label or split (a trace per value, the most frequent MAX_CATEGORIES, then
"other"; a label in its class colour on every chart of the dataset, a split in its colour, core.figures),
k-means cluster of the set's latest cluster run, or near-duplicate group of its latest duplicate run (one
trace, a colour scale over ids). Each point carries its sample id.
"""

from __future__ import annotations

import io
import threading
from collections import Counter, OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.db.models import QuerySet

from core.figures import OTHER_COLOUR, SPLIT_COLOURS, class_colour, layout
from curation.embeddings.files import storage_local_path
from curation.embeddings.models import EmbeddingMap
from curation.embeddings.selectors.duplicates import duplicate_run_list, sample_duplicate_groups
from curation.ml.projection import sample_rows
from curation.models import VersionSample

MAP_MAX_POINTS = 50_000
MAX_CATEGORIES = 20
COLOR_OPTIONS = ("label", "split", "cluster", "duplicate")
OTHER_COLOR = OTHER_COLOUR

_points_cache: OrderedDict[tuple[int, str], tuple[np.ndarray, np.ndarray]] = OrderedDict()
_category_cache: OrderedDict[tuple[int, str, str], np.ndarray] = OrderedDict()
_points_lock = threading.Lock()


def embedding_map_list(*, embedding_set_id: int | None = None) -> QuerySet[EmbeddingMap]:
    maps = EmbeddingMap.objects.select_related("embedding_set__version__dataset").order_by("-id")
    return maps.filter(embedding_set_id=embedding_set_id) if embedding_set_id is not None else maps


def embedding_map_get(map_id: int) -> EmbeddingMap | None:
    return embedding_map_list().filter(pk=map_id).first()


def map_points(embedding_map: EmbeddingMap) -> tuple[np.ndarray, np.ndarray]:
    """(sample ids int64, xy float32 (n, 2)), checksum-verified, cached per process."""
    key = (embedding_map.pk, embedding_map.points_checksum)
    with _points_lock:
        if key in _points_cache:
            return _points_cache[key]
    path = storage_local_path(embedding_map.points_key, sha256=embedding_map.points_checksum)
    with np.load(io.BytesIO(path.read_bytes())) as stored:
        points = (stored["sample_ids"], stored["xy"])
    with _points_lock:
        _points_cache[key] = points
        while len(_points_cache) > 4:
            _points_cache.popitem(last=False)
    return points


@dataclass(frozen=True)
class Viewport:
    x0: float
    x1: float
    y0: float
    y1: float

    def contains(self, xy: np.ndarray) -> np.ndarray:
        return (xy[:, 0] >= self.x0) & (xy[:, 0] <= self.x1) & (xy[:, 1] >= self.y0) & (xy[:, 1] <= self.y1)


def _categories(embedding_map: EmbeddingMap, color_by: str) -> tuple[np.ndarray, str]:
    """One value per map point, and "category" (strings) or "scale" (ints, -1 = none) for how to colour them.
    Labels and splits of a version never change: they are cached per map; clusters and duplicate groups
    follow the set's latest runs, so they are read each time."""
    key = (embedding_map.pk, embedding_map.points_checksum, color_by)
    if color_by in ("label", "split"):
        with _points_lock:
            if key in _category_cache:
                return _category_cache[key], "category"
    sample_ids, _ = map_points(embedding_map)
    version_id = embedding_map.embedding_set.version_id
    if color_by in ("label", "split"):
        values = dict(VersionSample.objects.filter(version_id=version_id).values_list("sample_id", color_by))
        fallback = "(unlabeled)" if color_by == "label" else "unassigned"
        categories = np.asarray([values.get(int(i)) or fallback for i in sample_ids])
        with _points_lock:
            _category_cache[key] = categories
            while len(_category_cache) > 8:
                _category_cache.popitem(last=False)
        return categories, "category"
    numbers = SAMPLE_NUMBERINGS[color_by](embedding_map)
    return np.asarray([numbers.get(int(i), -1) for i in sample_ids], dtype=np.int64), "scale"


def _duplicate_numbers(embedding_map: EmbeddingMap) -> dict[int, int]:
    run = duplicate_run_list(embedding_set_id=embedding_map.embedding_set_id).first()
    return sample_duplicate_groups(run=run) if run is not None else {}


# Colourings by a number per sample, by name: "duplicate" here; "cluster" registered by the pruning app at start-up
# (PruningConfig.ready), so that this app does not import the app above it.
SAMPLE_NUMBERINGS: dict[str, Callable[[EmbeddingMap], dict[int, int]]] = {"duplicate": _duplicate_numbers}


def embedding_map_figure(
    *, embedding_map: EmbeddingMap, color_by: str = "label", viewport: Viewport | None = None,
    max_points: int = MAP_MAX_POINTS,
) -> dict[str, Any]:  # fmt: skip
    """The plotly figure of a view: {"data": scattergl traces, "layout", "meta": {shown, in_view, total}}."""
    color_by = color_by if color_by in COLOR_OPTIONS else "label"
    sample_ids, xy = map_points(embedding_map)
    in_view = np.flatnonzero(viewport.contains(xy)) if viewport is not None else np.arange(len(sample_ids))
    all_values, style = _categories(embedding_map, color_by)
    values = all_values[in_view]
    chosen = sample_rows(len(in_view), max_points, seed=0, strata=values if style == "category" else None)
    rows, values = in_view[chosen], values[chosen]
    if style == "category":
        traces = _category_traces(sample_ids, xy, rows, values, _colour_of(embedding_map, color_by))
    else:
        traces = _scale_traces(sample_ids, xy, rows, values, color_by)
    view = layout(
        dragmode="lasso",
        hovermode="closest",
        height=620,
        margin={"l": 40, "r": 16, "t": 16, "b": 40},
        legend={"itemsizing": "constant"},
        xaxis={"zeroline": False, **({"range": [viewport.x0, viewport.x1]} if viewport else {})},
        yaxis={"zeroline": False, **({"range": [viewport.y0, viewport.y1]} if viewport else {})},
        uirevision="map",
    )
    meta = {"shown": len(rows), "in_view": len(in_view), "total": len(sample_ids), "color_by": color_by}
    return {"data": traces, "layout": view, "meta": meta}


def _colour_of(embedding_map: EmbeddingMap, color_by: str) -> Callable[[str], str]:
    """A label's colour on every chart of its dataset (core.figures.class_colour), or a split's."""
    if color_by == "split":
        return lambda split: SPLIT_COLOURS.get(split, OTHER_COLOUR)
    classes = list(embedding_map.embedding_set.version.dataset.classes or [])
    return lambda label: class_colour(label, classes)


def _marker_size(count: int) -> int:
    return 7 if count < 2_000 else 5 if count < 20_000 else 3


def _category_traces(
    sample_ids: np.ndarray, xy: np.ndarray, rows: np.ndarray, values: np.ndarray, colour: Callable[[str], str]
) -> list[dict[str, Any]]:
    counts = Counter(values.tolist())
    named = [value for value, _ in counts.most_common(MAX_CATEGORIES)]
    groups = [(value, values == value, colour(value)) for value in sorted(named)]
    other = ~np.isin(values, named)
    if other.any():
        groups.append(("other", other, OTHER_COLOR))
    size = _marker_size(len(rows))
    return [
        {
            "type": "scattergl",
            "mode": "markers",
            "name": f"{value} ({int(mask.sum())})",
            "x": xy[rows[mask], 0].round(4).tolist(),
            "y": xy[rows[mask], 1].round(4).tolist(),
            "customdata": sample_ids[rows[mask]].tolist(),
            "hovertemplate": f"#%{{customdata}} · {value}<extra></extra>",
            "marker": {"size": size, "color": color, "opacity": 0.8},
        }
        for value, mask, color in groups
    ]


def _scale_traces(
    sample_ids: np.ndarray, xy: np.ndarray, rows: np.ndarray, values: np.ndarray, color_by: str
) -> list[dict[str, Any]]:
    size = _marker_size(len(rows))
    none, some = values < 0, values >= 0
    label = "cluster" if color_by == "cluster" else "duplicate group"
    traces = [
        {
            "type": "scattergl",
            "mode": "markers",
            "name": f"no {label} ({int(none.sum())})",
            "x": xy[rows[none], 0].round(4).tolist(),
            "y": xy[rows[none], 1].round(4).tolist(),
            "customdata": sample_ids[rows[none]].tolist(),
            "hovertemplate": "#%{customdata}<extra></extra>",
            "marker": {"size": size, "color": OTHER_COLOR, "opacity": 0.6},
        }
    ]
    if some.any():
        traces.append(
            {
                "type": "scattergl",
                "mode": "markers",
                "name": f"in a {label} ({int(some.sum())})",
                "x": xy[rows[some], 0].round(4).tolist(),
                "y": xy[rows[some], 1].round(4).tolist(),
                "customdata": sample_ids[rows[some]].tolist(),
                "text": [f"{label} {int(v)}" for v in values[some]],
                "hovertemplate": "#%{customdata} · %{text}<extra></extra>",
                "marker": {"size": size + 2, "color": values[some].tolist(), "colorscale": "Turbo", "opacity": 0.9},
            }
        )
    return traces
