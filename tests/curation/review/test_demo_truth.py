"""On the demo dataset, the queue summary reports precision and recall of the proposals against the injected
label noise and the true multi-object label sets (issue part 5; docs/ARCHITECTURE.md §6).

The embeddings come from a TEST-ONLY "truth encoder": each image's vector is the sum of one-hot vectors of
its true classes (the demo's recorded objects) plus noise. It knows nothing about the given labels, so the
proposals still have to come from confident learning on out-of-fold probabilities; it stands in for a good
encoder and is no substitute for one.
"""

import numpy as np
import pytest

from core.storage import blob_read
from curation.demo.plan import DemoConfig
from curation.demo.truth import truth_by_sha256, truth_loads
from curation.models import DatasetVersion, Sample, VersionSample
from curation.review.services.proposal_params import proposal_params_validate
from curation.review.services.proposals import proposal_run_create
from curation.review.services.queues import review_queue_create
from curation.services.demo import demo_dataset_build
from tests.curation.pruning.factories import embedding_set_create, member_ids


def truth_embeddings(version, sample_ids: np.ndarray) -> np.ndarray:
    truth = truth_by_sha256(truth_loads(blob_read(version.operation_params["truth_key"])))
    classes = sorted(version.dataset.classes)
    hashes = dict(Sample.objects.filter(pk__in=sample_ids.tolist()).values_list("pk", "sha256"))
    rng = np.random.default_rng(0)
    rows = np.zeros((sample_ids.size, len(classes) + 4))
    for row, sample_id in enumerate(sample_ids.tolist()):
        for label in truth[hashes[sample_id]][0]["true_labels"]:
            rows[row, classes.index(label)] += 1.0
    rows += rng.normal(0, 0.15, rows.shape)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def single_label_child(version) -> DatasetVersion:
    """A child of the demo version whose members keep their primary label only (as a single-label import
    would have them): the second objects of multi-object images are then missing labels."""
    child = DatasetVersion.objects.create(
        dataset=version.dataset, number=version.number + 1, parent=version, operation="manual",
        sample_count=version.sample_count,
    )  # fmt: skip
    VersionSample.objects.bulk_create(
        [
            VersionSample(version=child, sample_id=m.sample_id, split=m.split, label=m.label, labels=m.labels[:1])
            for m in VersionSample.objects.filter(version=version)
        ]
    )
    return child


@pytest.mark.slow
def test_queue_summaries_score_confident_learning_against_the_demo_truth(db):
    demo = demo_dataset_build(config=DemoConfig(seed=0, size=200, label_noise_rate=0.08), name="demo-review")
    child = single_label_child(demo.version)
    summaries = {}
    for version in (demo.version, child):
        embedding_set_create(version=version, vectors=truth_embeddings(demo.version, member_ids(version)))
        run = proposal_run_create(params=proposal_params_validate(version_id=version.pk, source="confident_learning"))
        queue = review_queue_create(version=version, name="demo", filter={"sources": ["confident_learning"]})
        assert queue.summary["truth"] == run.summary["truth"]
        assert queue.item_count == run.flagged_count
        summaries[version.number] = (run.summary["variant"], queue.summary["truth"])

    multi_label, truth = summaries[demo.version.number]
    assert multi_label == "multi_label"  # the demo stores multi-object label sets
    assert (truth["noise_missing"], truth["multi_object_missing"]) == (11, 0)
    assert truth["noise_recall"] >= 0.8
    single_label, truth = summaries[child.number]
    assert single_label == "single_label"
    assert truth["noise_missing"] == 11 and truth["multi_object_missing"] > 0
    assert truth["noise_recall"] >= 0.8
    assert truth["multi_object_recall"] >= 0.5
    assert truth["precision"] >= 0.6
