"""core.figures: the base layout every figure shares, and one colour per class on every chart."""

from core.figures import (
    OTHER_COLOUR,
    PALETTE,
    UNLABELED_COLOUR,
    class_colour,
    class_colours,
    count_axis,
    figure,
    layout,
    vertical_line,
)
from curation.pruning.selectors.clusters import class_mix_figure

CLASSES = ["cat", "dog", "fox"]


def test_a_class_gets_the_colour_of_its_index_in_the_taxonomy():
    assert class_colours(CLASSES, CLASSES) == list(PALETTE[:3])
    assert class_colour("dog", CLASSES) == PALETTE[1]
    assert class_colour("", CLASSES) == class_colour("(unlabeled)", CLASSES) == UNLABELED_COLOUR
    # a label outside the taxonomy: a stable colour from its name, the same on every call and page
    assert class_colour("wolf", CLASSES) == class_colour("wolf", ["other", "order"]) in PALETTE
    many = [f"class {i}" for i in range(len(PALETTE) + 1)]
    assert class_colour(many[-1], many) == PALETTE[0]  # past the palette: round again
    assert OTHER_COLOUR not in PALETTE


def test_the_same_class_has_the_same_colour_on_two_figures():
    from types import SimpleNamespace

    import numpy as np

    from curation.embeddings.selectors.maps import _category_traces, _colour_of

    # the cluster page's class mix (labels in taxonomy order) ...
    clusters = [
        SimpleNamespace(index=0, class_mix={"fox": 3, "cat": 1}),
        SimpleNamespace(index=1, class_mix={"dog": 2}),
    ]
    mix = class_mix_figure(clusters, CLASSES)
    mix_colours = {trace["name"]: trace["marker"]["color"] for trace in mix["data"]}
    # ... and the embedding map coloured by label (traces sorted by name, so in another order)
    embedding_map = SimpleNamespace(
        embedding_set=SimpleNamespace(version=SimpleNamespace(dataset=SimpleNamespace(classes=CLASSES)))
    )
    values = np.asarray(["fox", "dog", "cat", "fox"])
    traces = _category_traces(np.arange(4), np.zeros((4, 2)), np.arange(4), values, _colour_of(embedding_map, "label"))
    map_colours = {trace["name"].split(" (")[0]: trace["marker"]["color"] for trace in traces}
    assert mix_colours == map_colours == {"cat": PALETTE[0], "dog": PALETTE[1], "fox": PALETTE[2]}


def test_every_axis_gets_automargin_and_the_legend_sits_above_the_plot():
    built = figure([{"type": "bar"}], xaxis={"type": "category"}, yaxis2={"side": "right"}, height=200)
    chart = built["layout"]
    assert chart["xaxis"] == {"automargin": True, "type": "category"}
    assert chart["yaxis"]["automargin"] and chart["yaxis2"]["automargin"]
    assert chart["legend"]["yanchor"] == "bottom" and chart["legend"]["y"] >= 1  # above the plot area
    assert chart["height"] == 200 and built["data"] == [{"type": "bar"}]
    assert layout(xaxis={"automargin": False})["xaxis"]["automargin"] is False  # a figure may still opt out


def test_count_axis_and_vertical_line():
    assert count_axis(3)["dtick"] == 1 and "dtick" not in count_axis(100)
    line = vertical_line(0.5, dash="dot")
    assert (line["x0"], line["x1"], line["yref"], line["line"]["dash"]) == (0.5, 0.5, "paper", "dot")
