"""The plotly figures' shared look: one base layout, the palette, and one colour per class on every chart.

Figures are plain dicts ({"data": traces, "layout": layout}) built by the apps' selectors and sent to the
page as JSON (frontend/static/frontend/charts.js draws them). Every builder starts from `figure()` (or
`layout()`), so margins, fonts, backgrounds and the legend are set here once:

- the axes get `automargin`, so long class names grow the margin instead of being cut;
- the legend sits above the plot area (anchored at its bottom), so it never covers bars or an axis title;
- a class is drawn in the same colour on every chart of its dataset: `class_colour(name, classes)` picks
  the palette entry by the class's index in the dataset's taxonomy (`Dataset.classes`); a label outside
  the taxonomy gets a colour from a stable hash of its name, "(unlabeled)" grey.

No Django here: this module takes and returns plain values (docs/ARCHITECTURE.md §2, §Pages).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Sequence
from typing import Any

FONT = {"family": "system-ui, -apple-system, 'Segoe UI', sans-serif", "size": 13, "color": "#1f2933"}
BASE_LAYOUT: dict[str, Any] = {
    "margin": {"l": 56, "r": 16, "t": 16, "b": 48},
    "font": FONT,
    "paper_bgcolor": "rgba(0,0,0,0)",
    "plot_bgcolor": "rgba(0,0,0,0)",
    # Above the plot area, anchored at its bottom: a legend never covers bars or the x-axis title.
    "legend": {"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"},
    "height": 340,
}

# Named colours of the charts (kept as the pages have used them).
BLUE, ORANGE, GREEN, RED, GREY, INK = "#3b6fd8", "#e0913b", "#2f9e74", "#c8412b", "#9aa5b1", "#1f2933"
SPLIT_COLOURS = {"train": BLUE, "val": ORANGE, "test": GREEN, "unassigned": GREY}
# Twenty distinct colours, then the same hues darker; classes past 20 reuse them in order.
PALETTE = (
    "#3b6fd8", "#e0913b", "#2f9e74", "#d64545", "#8e5bd8", "#8c6d46", "#d85ba8", "#6b7280", "#b5b52f", "#2fb5c4",
    "#1f4fa8", "#b86a1c", "#1d6e50", "#9c2f2f", "#5f3a9c", "#5c4630", "#9c3f78", "#4b5563", "#7d7d1f", "#1f7c87",
)  # fmt: skip
OTHER_COLOUR = "#c3c9d1"  # "other" (the classes a chart groups together)
UNLABELED_COLOUR = GREY
UNLABELED_NAMES = ("", "(unlabeled)")


def class_colour(name: str, classes: Sequence[str]) -> str:
    """The colour of class `name` in a dataset whose taxonomy is `classes` (the same on every chart).

    By the class's index in the taxonomy; a name outside it (a label renamed since, a model's class) by a
    stable hash of the name, so it too keeps its colour from page to page."""
    if name in UNLABELED_NAMES:
        return UNLABELED_COLOUR
    try:
        index = list(classes).index(name)
    except ValueError:
        index = zlib.crc32(name.encode("utf-8"))
    return PALETTE[index % len(PALETTE)]


def class_colours(names: Iterable[str], classes: Sequence[str]) -> list[str]:
    """`class_colour` of each of `names` (for one bar trace coloured per class)."""
    return [class_colour(name, classes) for name in names]


def _axis(axis: dict[str, Any] | None) -> dict[str, Any]:
    return {"automargin": True, **(axis or {})}


def layout(**overrides: Any) -> dict[str, Any]:
    """The base layout with `overrides`; every x/y axis given (xaxis, yaxis, yaxis2, …) gets automargin."""
    merged = {**BASE_LAYOUT, "xaxis": _axis(None), "yaxis": _axis(None)}
    for key, value in overrides.items():
        merged[key] = _axis(value) if key.startswith(("xaxis", "yaxis")) and isinstance(value, dict) else value
    return merged


def figure(traces: list[dict[str, Any]], **overrides: Any) -> dict[str, Any]:
    """A figure of `traces` on the base layout (an empty list: the page says "No data." instead of a chart)."""
    return {"data": traces, "layout": layout(**overrides)}


def count_axis(highest: int, title: str = "Samples") -> dict[str, Any]:
    """A y axis of counts from zero with whole-number ticks (plotly would show 0.5 steps for small counts)."""
    axis: dict[str, Any] = {"title": {"text": title}, "rangemode": "tozero", "tickformat": ",d"}
    if highest <= 8:
        axis["dtick"] = 1
    return axis


def vertical_line(x: float, *, colour: str = INK, dash: str = "dash", width: float | None = None) -> dict[str, Any]:
    """A layout shape: a line at `x` across the whole plot height (a threshold, the best epoch)."""
    line: dict[str, Any] = {"color": colour, "dash": dash}
    if width is not None:
        line["width"] = width
    return {"type": "line", "x0": x, "x1": x, "yref": "paper", "y0": 0, "y1": 1, "line": line}
