"""SemDeDup's keep_fraction -> eps search says when exact copies make the target unreachable."""

import json
from io import StringIO

import numpy as np
import pytest
from django.core.management import call_command
from django.test import Client

from curation.ml.clustering import l2_normalize
from curation.ml.pruning import PruneReason, PruneResult, semdedup_rethreshold
from curation.pruning.services.methods import MIN_EPS, eps_for_keep_fraction, keep_target
from tests.curation.pruning.factories import embedding_set_create, version_with_samples

# M of 10 candidates: two singletons, three distinct, five exact copies (float32 M of 1 and just below)
SCORES = np.array([-np.inf, -np.inf, 0.3, 0.6, 0.9, 1.0, 1.0, 1.0, 1.0, np.float32(0.99999994)], np.float32)


def semdedup_result(scores: np.ndarray) -> PruneResult:
    n = scores.size
    return PruneResult("semdedup", {"eps": 0.05}, np.ones(n, bool), np.zeros(n, np.int8), scores)


def test_an_unreachable_keep_fraction_is_reported_not_hidden():
    # given 5 of 10 candidates that every eps >= 1e-6 removes
    result = semdedup_result(SCORES)
    # when asking to keep 80%
    chosen = semdedup_rethreshold(result, eps_for_keep_fraction(result, 0.8))
    target = keep_target(chosen, 0.8)
    # then the run keeps what any eps can keep (a loop count), and says it falls short
    reachable = sum(1 for m in SCORES.tolist() if not m > 1 - MIN_EPS)
    assert (chosen.n_kept, reachable) == (5, 5)
    assert {k: target[k] for k in ("n_target", "n_kept", "n_reachable", "target_met")} == {
        "n_target": 8, "n_kept": 5, "n_reachable": 5, "target_met": False,
    }  # fmt: skip
    assert "asks for 8 of 10" in target["warning"] and "keeps 5" in target["warning"]


def test_a_reachable_keep_fraction_is_met_without_a_warning():
    result = semdedup_result(SCORES)

    chosen = semdedup_rethreshold(result, eps_for_keep_fraction(result, 0.4))
    target = keep_target(chosen, 0.4)

    assert (chosen.n_kept, target["n_target"], target["target_met"], target["warning"]) == (4, 4, True, None)
    assert (chosen.reason[5:] == PruneReason.SEMANTIC_DUPLICATE).all()


@pytest.fixture
def copies_version(db):
    """10 samples, 6 of them the same vector."""
    version = version_with_samples(10)
    vectors = l2_normalize(np.random.default_rng(0).standard_normal((10, 8))).astype(np.float32)
    vectors[5:] = vectors[4]
    embedding_set_create(version=version, vectors=vectors)
    return version


def test_cli_json_and_page_carry_the_unreachable_target(copies_version, curator):
    # when the CLI asks SemDeDup to keep 90% of 10 samples, 5 of which are copies of a kept one
    out = StringIO()
    call_command(
        "prune", str(copies_version.pk), "--method", "semdedup", "--keep-fraction", "0.9", "--k", "1",
        "--user", curator.username, stdout=out, stderr=StringIO(),
    )  # fmt: skip
    result = json.loads(out.getvalue().strip().splitlines()[-1])
    # then its JSON says the target (9) is out of reach and why
    assert result["n_kept"] == 5
    assert result["keep_target"]["n_target"] == 9 and result["keep_target"]["target_met"] is False
    assert len(result["warnings"]) == 2 and "keeps 5" in result["warnings"][0]
    assert result["warnings"][1].startswith("Class 'dog' loses 3 of its 5 samples")  # 5, 7 and 9 are copies
    # and so does the run's page
    client = Client()
    client.force_login(curator)
    html = client.get(f"/prune-runs/{result['prune_run']}/").content.decode()
    assert 'data-warning="keep-target"' in html and "asks for 9 of 10" in html
