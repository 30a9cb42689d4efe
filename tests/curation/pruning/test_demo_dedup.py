"""On the demo dataset, SemDeDup removes the injected duplicates (docs/METHODS.md §1, docs/ARCHITECTURE.md §6).

The embeddings come from a TEST-ONLY encoder: each image downsampled to 12 x 12 RGB pixels, centred
and L2-normalised. It sees near duplicates (jitter, JPEG re-encode, brightness) as very close and
different composites as far, which is all this test needs; it is no substitute for a real encoder.
"""

import io

import numpy as np
import pytest
from PIL import Image

from core.storage import blob_read
from curation.demo.plan import DemoConfig
from curation.models import Sample
from curation.pruning.services.params import prune_params_validate
from curation.pruning.services.pruning import prune_run_create
from curation.services.demo import demo_dataset_build
from tests.curation.pruning.factories import embedding_set_create, member_ids


def pixel_embeddings(sample_ids: np.ndarray) -> np.ndarray:
    """The test-only encoder (see the module docstring)."""
    keys = dict(Sample.objects.filter(pk__in=sample_ids.tolist()).values_list("pk", "image_key"))
    rows = []
    for sample_id in sample_ids.tolist():
        image = Image.open(io.BytesIO(blob_read(keys[sample_id]))).convert("RGB").resize((12, 12), Image.BILINEAR)
        row = np.asarray(image, dtype=np.float32).ravel()
        row -= row.mean()
        rows.append(row / np.linalg.norm(row))
    return np.stack(rows)


@pytest.fixture
def demo_with_embeddings(db):
    demo = demo_dataset_build(config=DemoConfig(seed=0, size=150), name="demo-prune")
    embedding_set = embedding_set_create(version=demo.version, vectors=pixel_embeddings(member_ids(demo.version)))
    return demo.version, embedding_set


def _truth_of_run(version, method, **params):
    params.setdefault("splits", ["train", "val", "test", "unassigned"])  # the injected duplicates lie in every split
    run = prune_run_create(params=prune_params_validate(version_id=version.pk, method=method, **params))
    return run, run.summary["demo_truth"]


@pytest.mark.slow
def test_semdedup_on_the_demo_removes_the_injected_duplicates(demo_with_embeddings):
    version, _ = demo_with_embeddings
    by_eps = {eps: _truth_of_run(version, "semdedup", eps=eps, n_clusters=5)[1] for eps in (0.005, 0.05, 0.1)}
    run, default = _truth_of_run(version, "semdedup", n_clusters=5)
    _, control = _truth_of_run(version, "random", keep_fraction=run.n_kept / run.n_candidates)

    # Exact copies never survive as separate samples; every run reports it.
    assert [t["exact_duplicate_recall"] for t in (*by_eps.values(), control)] == [1.0, 1.0, 1.0, 1.0]
    assert default == by_eps[0.05]
    assert default["near_duplicate_pairs"] == 6
    # Larger eps removes more: recall never drops, precision never rises.
    recalls = [by_eps[eps]["near_duplicate_recall"] for eps in (0.005, 0.05, 0.1)]
    precisions = [by_eps[eps]["duplicate_precision"] for eps in (0.005, 0.05, 0.1)]
    assert recalls == sorted(recalls)
    assert precisions == sorted(precisions, reverse=True)
    # At the default eps SemDeDup finds most pairs, and far more than random pruning of the same size.
    assert default["near_duplicate_recall"] > 0.5
    assert default["removed_total"] == control["removed_total"]
    assert default["near_duplicate_recall"] > control["near_duplicate_recall"]
    assert default["removed_in_near_pairs"] > control["removed_in_near_pairs"]
    # Precision beats the base rate (the share of samples that belong to a pair).
    assert default["duplicate_precision"] > default["near_duplicate_pairs"] * 2 / run.n_candidates
