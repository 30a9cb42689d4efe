"""Label issues on a held-out composite probe (tests/probes/composite_probe.py), embedded with efficientnet-lite0.

Thresholds were set before this probe (seed 13, 50 images per class) was first measured, from the figures
of seeds 7 and 11 (75 per class): label issues precision 0.64 / 0.71, recall 0.74 / 0.59; shift flags that
are wrong labels 1 of 41 / 3 of 27. They are below the issue's target (0.85 / 0.95), which the method
does not reach on this encoder (docs/METHODS.md, "Label issues"). First measurement: 8 of 17 label issues right
(precision 0.47), under the 0.5 chosen; the test stays, marked as an expected failure until the method improves.

The issue's own target (precision >= 0.85 at recall >= 0.95, the default method) is asserted on the same probe as
a strict expected failure: a second round of methods (docs/METHODS.md, "Label issues": near-copy-grouped folds,
averaged fold draws, kNN label quality, other features of the encoder) reached neither it nor a held-out gain, so
the default is unchanged. A third round of object-centric features (GrabCut foreground: mask-weighted pooling of the
feature map, crops, grey backgrounds, mirror TTA, concatenations) reached at best 0.83 / 0.74 and 0.82 / 0.78 on the
tuning seeds and 0.41-0.88 / 0.58-0.74 on held-out seeds 13, 17, 19, never the target, so the xfail stays.
Strict: the day it passes, the marker must go.
"""

from pathlib import Path

import numpy as np
import pytest

from tests.probes.composite_probe import STAMPS_DIR, ProbeConfig, probe_build

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def embedded_probe(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The probe's files as (features, given labels, splits, wrong) in path order."""
    assert STAMPS_DIR.is_dir(), "the probe needs Debian's tuxpaint-stamps-default (make test installs it)"
    from curation.ml.embedding import embed_images
    from curation.ml.encoders import create_encoder

    out = tmp_path_factory.mktemp("label-probe")
    truth = probe_build(out, ProbeConfig(seed=13, images_per_class=50))
    paths = sorted(truth.files)
    embedded = embed_images(create_encoder("efficientnet-lite0"), [(p, out / "images" / p) for p in paths])
    assert list(embedded.ids) == paths
    classes = sorted({Path(p).parts[1] for p in paths})
    return {
        "features": np.asarray(embedded.embeddings, dtype=np.float32),
        "labels": np.asarray([classes.index(Path(p).parts[1]) for p in paths]),
        "splits": np.asarray([Path(p).parts[0] for p in paths]),
        "wrong": np.asarray([p in truth.wrong_labels for p in paths]),
        "classes": len(classes),
    }


@pytest.mark.xfail(
    strict=True, raises=AssertionError, reason="precision 0.47 (8 of 17) on seed 13 at its first measurement"
)
def test_label_issues_on_the_probe_reach_the_chosen_precision_and_recall(embedded_probe):
    from curation.review.ml.proposals import split_label_issues

    probe = embedded_probe
    found = split_label_issues(probe["features"], probe["labels"], probe["splits"], probe["classes"])

    right = found.is_issue & probe["wrong"]
    assert found.method == "per_split"
    assert right.sum() / max(found.is_issue.sum(), 1) >= 0.5
    assert right.sum() / probe["wrong"].sum() >= 0.5
    assert not (found.is_issue & found.is_shift).any()
    assert found.is_shift[probe["splits"] == "train"].sum() == 0
    assert (found.is_shift & probe["wrong"]).sum() <= 0.25 * found.is_shift.sum()


@pytest.mark.xfail(
    strict=True,
    raises=AssertionError,
    reason=(
        "the issue's target is not reached on efficientnet-lite0 features, global or object-centric "
        "(docs/METHODS.md, Label issues)"
    ),
)
def test_label_issues_on_the_probe_reach_the_issue_target(embedded_probe):
    from curation.review.ml.proposals import split_label_issues

    probe = embedded_probe
    found = split_label_issues(probe["features"], probe["labels"], probe["splits"], probe["classes"])

    right = found.is_issue & probe["wrong"]
    assert right.sum() / probe["wrong"].sum() >= 0.95
    assert right.sum() / max(found.is_issue.sum(), 1) >= 0.85
