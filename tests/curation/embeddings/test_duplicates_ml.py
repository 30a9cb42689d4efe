"""Near-duplicate pair search against an all-pairs loop, threshold calibration, perturbations (no Django)."""

import io

import numpy as np
import pytest
from PIL import Image

from curation.embeddings.ml.calibration import calibrate, threshold_for_target
from curation.embeddings.ml.near_duplicates import cell_pairs, cell_search_recall, exact_pairs, near_duplicate_pairs
from curation.embeddings.ml.perturbations import PERTURBATIONS, perturbed_copies


def clustered_with_duplicates(n_base=600, dim=24, clusters=12, duplicates=40, seed=0):
    """Unit vectors around `clusters` centres, plus `duplicates` rows that are tiny jitters of base rows."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(clusters, dim))
    base = centres[rng.integers(0, clusters, n_base)] + 0.6 * rng.normal(size=(n_base, dim))
    sources = rng.choice(n_base, duplicates, replace=False)
    copies = base[sources] + 0.01 * rng.normal(size=(duplicates, dim))
    vectors = np.vstack([base, copies]).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True), sources


def all_pairs_loop(vectors, threshold):
    pairs = set()
    for i in range(len(vectors)):
        for j in range(i + 1, len(vectors)):
            if float(vectors[i] @ vectors[j]) >= threshold:
                pairs.add((i, j))
    return pairs


def test_exact_search_finds_exactly_the_pairs_an_all_pairs_loop_finds():
    vectors, _ = clustered_with_duplicates(n_base=150, duplicates=10)

    search = exact_pairs(vectors, 0.9)

    assert set(zip(search.rows_a.tolist(), search.rows_b.tolist(), strict=True)) == all_pairs_loop(vectors, 0.9)
    assert search.method == "exact"
    np.testing.assert_allclose(search.scores, np.sum(vectors[search.rows_a] * vectors[search.rows_b], axis=1), 1e-5)


def test_cell_search_finds_a_subset_of_the_exact_pairs_and_reports_its_recall():
    vectors, sources = clustered_with_duplicates()
    exact = exact_pairs(vectors, 0.98)

    cells = cell_pairs(vectors, 0.98, cell_size=60, probes=2)
    recall = cell_search_recall(vectors, cells, 0.98)

    found = set(zip(cells.rows_a.tolist(), cells.rows_b.tolist(), strict=True))
    reference = set(zip(exact.rows_a.tolist(), exact.rows_b.tolist(), strict=True))
    assert found <= reference
    assert {(int(s), 600 + i) for i, s in enumerate(sources)} <= reference  # every injected copy is a pair
    assert recall == {
        "sample_rows": 640,
        "exact_pairs": len(reference),
        "found_pairs": len(found),
        "recall": round(len(found) / len(reference), 4),
    }
    assert recall["recall"] >= 0.95
    assert (cells.method, cells.details["cells"], cells.details["probes"]) == ("cells", 11, 2)


def test_auto_picks_exact_for_small_sets_and_cells_beyond():
    vectors, _ = clustered_with_duplicates(n_base=100, duplicates=5)

    assert near_duplicate_pairs(vectors, 0.95).method == "exact"
    assert near_duplicate_pairs(vectors, 0.95, exact_max_rows=50, cell_size=20).method == "cells"
    with pytest.raises(ValueError, match="method must be auto, exact or cells"):
        near_duplicate_pairs(vectors, 0.95, method="annoy")


def test_the_calibrated_threshold_catches_the_target_share_of_pairs():
    scores = np.array([0.80, 0.90, 0.91, 0.95, 0.97, 0.98, 0.99, 0.99, 0.995, 1.0])

    assert threshold_for_target(scores, 1.0) == pytest.approx(0.80)
    assert threshold_for_target(scores, 0.9) == pytest.approx(0.90)
    assert threshold_for_target(scores, 0.85) == pytest.approx(0.90)
    assert threshold_for_target(scores, 0.5) == pytest.approx(0.98)
    calibration = calibrate(scores, ["jpeg", "crop"] * 5, np.array([0.5, 0.7, 0.92, 0.99]), target=0.9)
    summary = calibration.as_dict()
    assert (calibration.threshold, calibration.caught, calibration.neighbours_flagged) == (
        pytest.approx(0.90),
        pytest.approx(0.9),
        pytest.approx(0.5),
    )
    assert summary["per_kind"]["jpeg"] == {"pairs": 5, "caught": 0.8, "min_similarity": 0.8}
    assert sum(summary["pair_histogram"]) == 10 and sum(summary["neighbour_histogram"]) == 4
    assert len(summary["bin_edges"]) == len(summary["pair_histogram"]) + 1 and summary["bin_edges"][-1] == 1.0
    with pytest.raises(ValueError, match="no perturbed pairs"):
        threshold_for_target(np.array([]), 0.99)


def test_perturbed_copies_are_small_seeded_changes_of_the_image():
    pixels = np.random.default_rng(3).integers(0, 256, (60, 80, 3), dtype=np.uint8)
    image = Image.fromarray(pixels)

    copies = perturbed_copies(image, seed=7)

    assert [name for name, _ in copies] == list(PERTURBATIONS) == ["jpeg", "shift", "crop", "resize"]
    assert copies == perturbed_copies(image, seed=7)
    decoded = {name: Image.open(io.BytesIO(data)) for name, data in copies}
    assert decoded["jpeg"].format == "JPEG" and decoded["jpeg"].size == (80, 60)
    assert decoded["shift"].size == (80, 60)
    assert np.abs(np.asarray(decoded["shift"], np.int16) - pixels).max() > 0
    assert 72 <= decoded["crop"].size[0] < 80 and 54 <= decoded["crop"].size[1] < 60
    assert 40 <= decoded["resize"].size[0] <= 64
