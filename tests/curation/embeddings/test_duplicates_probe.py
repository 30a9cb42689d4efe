"""Near duplicates on a held-out probe (tests/probes/composite_probe.py, not the demo builder), embedded once
with the offline encoder a new user gets (efficientnet-lite0): precision and recall of copy pairs, exact
groups, the calibration stored once per set, and the warning when the encoder cannot separate copies."""

from itertools import combinations

import pytest
from django.test import override_settings

import curation.ml.embedding
from curation.embeddings.models import DuplicateCalibration, DuplicateRun
from curation.embeddings.services.duplicates import FIND_DUPLICATES_JOB_KIND, DuplicateParams
from jobs.models import JobStatus
from jobs.services import job_create, job_execute
from tests.curation.embeddings.conftest import embed
from tests.factories import DatasetVersionFactory
from tests.probes.composite_probe import STAMPS_DIR, ProbeConfig, copy_pairs, probe_build
from tests.probes.stored import probe_dataset_delete, probe_store

# Chosen before measuring on this probe (the targets); calibration_images is cut to 25 images
# (100 perturbed copies) to keep the test short: the verification threshold is a constant, not fitted here.
MIN_PRECISION, MIN_RECALL = 0.95, 0.95
CALIBRATION_IMAGES = 25
KINDS = ("near", "semantic")
PROBE = ProbeConfig(seed=5, images_per_class=40, near_duplicates=16, exact_duplicates=6)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not STAMPS_DIR.is_dir(), reason="needs Debian's tuxpaint-stamps-default"),
]


@pytest.fixture(scope="module")
def probe_set(django_db_setup, django_db_blocker, tmp_path_factory):
    """(embedding set, media root, true copy pairs as sample-id pairs, true exact groups as name sets): the probe
    written, stored as the import stores an ImageFolder (one sample per distinct bytes, an alias per file) and
    embedded once for the module; removed at the end."""
    root = tmp_path_factory.mktemp("probe")
    media = root / "media"
    truth = probe_build(root, PROBE)
    with django_db_blocker.unblock(), override_settings(MEDIA_ROOT=media):  # the tests set the same media root
        version = DatasetVersionFactory(number=1)
        by_name = probe_store(version, root, truth)
        embedding_set = embed(version, "efficientnet-lite0")
        pairs = {tuple(sorted(by_name[name] for name in pair)) for pair in copy_pairs(truth)}
        exact = {frozenset(pair) for pair in truth.exact_duplicate_pairs}
    yield embedding_set, media, {pair for pair in pairs if pair[0] != pair[1]}, exact
    with django_db_blocker.unblock():
        probe_dataset_delete(version)


def find_duplicates(embedding_set, **params) -> DuplicateRun:
    params = DuplicateParams(embedding_set_id=embedding_set.pk, calibration_images=CALIBRATION_IMAGES, **params)
    job = job_execute(job_create(kind=FIND_DUPLICATES_JOB_KIND, params=params.as_job_params(), requested_by=None).pk)
    assert job.status == JobStatus.SUCCEEDED, job.error
    return DuplicateRun.objects.get(job=job)


def test_copies_are_found_with_high_precision_and_recall_and_exact_groups_whole(probe_set, settings, db):
    embedding_set, media, true_pairs, true_exact = probe_set
    settings.MEDIA_ROOT = media

    run = find_duplicates(embedding_set)

    found = {pair for group in run.groups.filter(kind="near") for pair in combinations(sorted(group.sample_ids), 2)}
    hits = len(found & true_pairs)
    assert hits / len(found) >= MIN_PRECISION and hits / len(true_pairs) >= MIN_RECALL, (hits, len(found))
    exact = {frozenset(group.file_names) for group in run.groups.filter(kind="exact")}
    assert exact == true_exact
    edges = {
        kind: {tuple(pair[:2]) for group in run.groups.filter(kind=kind) for pair in group.pairs} for kind in KINDS
    }
    assert edges["near"] and not edges["near"] & edges["semantic"]  # a pair is a copy or a look-alike, never both
    for group in run.groups.filter(kind="near"):
        assert all(len(pair) == 4 and pair[3] >= run.verify_threshold for pair in group.pairs)


def test_the_calibration_is_stored_once_per_set_and_reused_without_embedding(probe_set, settings, db, monkeypatch):
    embedding_set, media, _, _ = probe_set
    settings.MEDIA_ROOT = media
    first = find_duplicates(embedding_set)
    embedded = []

    real_embed = curation.ml.embedding.embed_images
    monkeypatch.setattr(
        curation.ml.embedding, "embed_images", lambda *a, **k: embedded.append(1) or real_embed(*a, **k)
    )

    again = find_duplicates(embedding_set)
    recalibrated = find_duplicates(embedding_set, recalibrate=True)

    assert embedded == [1]  # only the run that asked to recalibrate embedded perturbed copies
    assert again.calibration["cached"] is True and recalibrated.calibration["cached"] is False
    assert again.calibration["calibration_id"] == first.calibration["calibration_id"]
    assert DuplicateCalibration.objects.filter(embedding_set=embedding_set).count() == 1
    assert (again.threshold, again.verify_threshold) == (first.threshold, first.verify_threshold)
    assert again.calibration["copies_embedded"] == 4 * CALIBRATION_IMAGES


def test_a_run_says_when_the_encoder_cannot_separate_copies_from_neighbours(probe_set, settings, db):
    embedding_set, media, _, _ = probe_set
    settings.MEDIA_ROOT = media

    run = find_duplicates(embedding_set)

    flagged = run.calibration["neighbours_flagged"]
    assert flagged > 0.05  # one background per class: many nearest neighbours look like copies to the encoder
    assert [warning["code"] for warning in run.warnings] == ["encoder_cannot_separate"]
    assert f"{flagged:.0%} of the sampled images' nearest other image" in run.warnings[0]["message"]
    assert run.job.result["warnings"] == run.warnings
