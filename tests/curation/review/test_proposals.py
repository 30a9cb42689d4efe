"""Proposal runs from every source, through the services, on small versions with known wrong labels."""

import numpy as np
import pytest
import torch

from core.api_errors import ApplicationError
from curation.embeddings.models import EmbeddingSet
from curation.models import VersionSample
from curation.pruning.services.clustering import cluster_run_create
from curation.pruning.services.params import cluster_params_validate
from curation.review.models import LabelProposal, ProposalRun
from curation.review.services import instance_evidence
from curation.review.services.proposal_params import proposal_params_validate
from curation.review.services.proposals import proposal_run_create
from robustness.ml.checkpoints import checkpoint_build, checkpoint_write
from robustness.ml.models import create_model
from robustness.services.checkpoints import checkpoint_store
from tests.curation.ml.tiny_clip import TINY_ARCH, build_tiny_clip
from tests.curation.pruning.factories import embedding_set_create
from tests.curation.review.conftest import CLASSES
from tests.factories import DatasetVersionFactory, VersionSampleFactory
from tests.robustness.factories import TrainedModelFactory


def proposals_of(run: ProposalRun) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    for sample_id, label in run.proposals.order_by("sample_id", "-score").values_list("sample_id", "label"):
        found.setdefault(sample_id, []).append(label)
    return found


def test_confident_learning_proposes_the_true_class_of_every_wrong_label(noisy_version):
    params = proposal_params_validate(version_id=noisy_version.version.pk, source="confident_learning")

    run = proposal_run_create(params=params)

    found = proposals_of(run)
    for row in noisy_version.flipped:
        assert found[int(noisy_version.sample_ids[row])][0] == CLASSES[noisy_version.truth[row]]
    flagged = {int(noisy_version.sample_ids[r]) for r in noisy_version.flipped}
    assert len(set(run.summary["label_issue_samples"]) - flagged) <= 2
    assert run.summary["variant"] == "single_label"
    assert run.summary["label_issues"] == len(run.summary["label_issue_samples"]) >= 5
    assert (run.summary["method"], run.summary["shift_flags"]) == ("pooled", 0)
    assert run.params == {
        "embedding_set_id": EmbeddingSet.objects.get(version=noisy_version.version).pk, "folds": 5, "C": 1.0,
        "multi_label": "auto", "instances": "auto", "min_probability": 0.2, "secondary_probability": 0.3, "top_k": 3,
        "threshold": 0.3, "seed": 0, "splits": [],
    }  # fmt: skip
    proposal = run.proposals.get(sample_id=noisy_version.sample_ids[noisy_version.flipped[0]])
    assert proposal.issue_score == pytest.approx(1 - proposal.params["given_probability"], abs=1e-4)
    assert proposal.params["flagged"] is True


def test_held_out_splits_are_scored_apart_and_a_split_filter_scores_only_its_members(noisy_version):
    test_ids = noisy_version.sample_ids[::3]
    VersionSample.objects.filter(version=noisy_version.version, sample_id__in=test_ids).update(split="test")
    version_id = noisy_version.version.pk

    every = proposal_run_create(params=proposal_params_validate(version_id=version_id, source="confident_learning"))
    train_only = proposal_run_create(
        params=proposal_params_validate(version_id=version_id, source="confident_learning", splits=["train"])
    )

    assert (every.summary["method"], every.summary["reference_split"]) == ("per_split", "train")
    by_split = every.summary["by_split"]
    assert (by_split["train"]["members"], by_split["test"]["members"]) == (60, 30)
    assert every.summary["label_issues"] == sum(s["label_issues"] for s in by_split.values())
    assert every.summary["shift_flags"] == by_split["test"]["shift_flags"] == len(every.summary["shift_samples"])
    assert not set(every.summary["shift_samples"]) & set(every.summary["label_issue_samples"])
    assert (train_only.summary["members"], train_only.summary["method"]) == (60, "pooled")
    assert list(train_only.summary["by_split"]) == ["train"]
    assert not set(train_only.proposals.values_list("sample_id", flat=True)) & set(test_ids.tolist())
    assert train_only.params["splits"] == ["train"]
    with pytest.raises(ApplicationError, match="splits must be among"):
        proposal_params_validate(version_id=version_id, source="confident_learning", splits=["holdout"])


def test_confident_learning_suggests_labels_for_unlabeled_members(noisy_version):
    unlabeled = noisy_version.sample_ids[[0, 31, 62]]
    VersionSample.objects.filter(version=noisy_version.version, sample_id__in=unlabeled).update(label="", labels=[])

    run = proposal_run_create(
        params=proposal_params_validate(version_id=noisy_version.version.pk, source="confident_learning")
    )

    suggestions = run.proposals.filter(source="linear_probe").order_by("sample_id", "-score")
    assert [(p.sample_id, p.label, p.issue_score) for p in suggestions if p.params["rank"] == 1] == [
        (int(unlabeled[0]), "cat", None), (int(unlabeled[1]), "dog", None), (int(unlabeled[2]), "bird", None),
    ]  # fmt: skip
    assert run.summary["unlabeled"] == 3


def test_the_multi_label_variant_runs_when_members_carry_several_labels(noisy_version):
    members = VersionSample.objects.filter(version=noisy_version.version).order_by("sample_id")
    first = members.first()
    first.labels = [{"label": "cat", "origin": "import"}, {"label": "dog", "origin": "import"}]
    first.save()

    run = proposal_run_create(
        params=proposal_params_validate(version_id=noisy_version.version.pk, source="confident_learning")
    )

    assert run.summary["variant"] == "multi_label"
    assert not run.proposals.filter(sample_id=first.sample_id, label__in=["cat", "dog"]).exists()


def test_mixed_clusters_propose_the_dominant_label_to_the_minority(noisy_version):
    embedding_set = EmbeddingSet.objects.get(version=noisy_version.version)
    cluster_run = cluster_run_create(
        params=cluster_params_validate(
            version_id=noisy_version.version.pk, embedding_set_id=embedding_set.pk, n_clusters=3
        )
    )

    run = proposal_run_create(
        params=proposal_params_validate(
            version_id=noisy_version.version.pk, source="mixed_cluster", cluster_run_id=cluster_run.pk
        )
    )

    expected = {int(noisy_version.sample_ids[r]): [CLASSES[noisy_version.truth[r]]] for r in noisy_version.flipped}
    assert proposals_of(run) == expected
    assert sorted(set(run.proposals.values_list("score", flat=True))) == [pytest.approx(28 / 30)]


def test_a_trained_models_top_k_above_the_threshold(db, tmp_path):
    version = DatasetVersionFactory(dataset__classes=["cat", "dog", "bird"])
    members = [VersionSampleFactory(version=version, label=label) for label in ("cat", "dog", "cat")]
    torch.manual_seed(0)
    model = create_model("small-cnn", 3, width=16).eval()
    trained = TrainedModelFactory(classes=["cat", "dog", "bird"], img_size=16)
    path = tmp_path / "best.pt"
    checkpoint_write(
        checkpoint_build(model=model, arch="small-cnn", classes=trained.classes, img_size=16, epoch=1), path
    )
    trained.checkpoint_best_key = trained.checkpoint_last_key = checkpoint_store(
        run_id=trained.run.pk, name="best", local_path=path
    )
    trained.save()

    run = proposal_run_create(
        params=proposal_params_validate(
            version_id=version.pk, source="model_topk", trained_model_id=trained.pk, threshold=0.0
        )
    )

    from curation.services.ingest import sample_image_open
    from robustness.services.checkpoints import load_trained_model

    loaded, classes, preprocessing = load_trained_model(trained)
    for member in members:
        with torch.inference_mode():
            probs = loaded(preprocessing.pixels(sample_image_open(member.sample))[None]).softmax(dim=1)[0]
        expected = {
            c: pytest.approx(float(p), abs=1e-5)
            for c, p in zip(classes, probs.tolist(), strict=True)
            if c != member.label
        }
        got = {p.label: p.score for p in run.proposals.filter(sample_id=member.sample_id)}
        assert got == expected
        issue = run.proposals.filter(sample_id=member.sample_id).first().issue_score
        assert issue == pytest.approx(1 - float(probs[classes.index(member.label)]), abs=1e-5)
    assert run.trained_model_id == trained.pk


def test_clip_zero_shot_through_the_encoder_path_with_the_tiny_test_model(noisy_version, tmp_path):
    """The tiny random open_clip stands in for real weights: it loads from a local folder through
    encoder_load, the same path production weights take. Each image vector is set to its true class's
    prompt embedding, so zero-shot must recover the true class of the wrong labels."""
    tiny = build_tiny_clip(tmp_path)
    name = f"open_clip:{TINY_ARCH}:{tiny.local_dir}"
    from curation.embeddings.encoders import encoder_load

    texts = encoder_load(name).encode_texts([f"a photo of a {c}." for c in CLASSES]).numpy()
    embedding_set = embedding_set_create(
        version=noisy_version.version, vectors=texts[noisy_version.truth], encoder_name=name
    )
    embedding_set.encoder_spec = {"name": name, "has_text_tower": True, "weights": str(tiny.local_dir)}
    embedding_set.save()

    run = proposal_run_create(
        params=proposal_params_validate(
            version_id=noisy_version.version.pk,
            source="clip_zero_shot",
            embedding_set_id=embedding_set.pk,
            top_k=1,
            threshold=0.0,
        )
    )

    expected = {int(noisy_version.sample_ids[r]): [CLASSES[noisy_version.truth[r]]] for r in noisy_version.flipped}
    assert proposals_of(run) == expected
    assert run.summary["logit_scale"] == pytest.approx(float(tiny.model.logit_scale.detach().exp()), rel=1e-4)


def test_bad_proposal_parameters_are_refused_before_anything_runs(noisy_version):
    version = noisy_version.version
    image_only = EmbeddingSet.objects.get(version=version)
    cases = [
        ({"source": "oracle"}, "invalid_source"),
        ({"source": "confident_learning", "folds": 1}, "invalid_parameter"),
        ({"source": "clip_zero_shot", "embedding_set_id": image_only.pk}, "no_text_tower"),
        ({"source": "mixed_cluster"}, "cluster_run_required"),
        ({"source": "model_topk"}, "trained_model_required"),
        ({"source": "model_topk", "trained_model_id": 10**9}, "not_found"),
        ({"source": "confident_learning", "bogus": 1}, "invalid_parameter"),
    ]
    for raw, code in cases:
        with pytest.raises(ApplicationError) as refused:
            proposal_params_validate(version_id=version.pk, **raw)
        assert refused.value.code == code, raw
    image_only.status = "embedding"
    image_only.save()
    with pytest.raises(ApplicationError) as not_ready:
        proposal_params_validate(version_id=version.pk, source="confident_learning")
    assert not_ready.value.code == "embeddings_required"
    assert (ProposalRun.objects.count(), LabelProposal.objects.count()) == (0, 0)


def test_a_version_with_one_learnable_class_writes_nothing(db):
    from tests.curation.pruning.factories import version_with_samples

    version = version_with_samples(6, labels=["cat", "cat", "cat", "cat", "cat", "dog"])
    embedding_set_create(version=version, vectors=np.eye(6, 4, dtype=np.float32) + 0.1)

    with pytest.raises(ApplicationError) as refused:
        proposal_run_create(params=proposal_params_validate(version_id=version.pk, source="confident_learning"))

    assert refused.value.code == "nothing_to_learn"
    assert ProposalRun.objects.count() == 0


def test_runs_over_the_member_limit_skip_same_object_matching_and_say_so(noisy_version, monkeypatch):
    monkeypatch.setattr(instance_evidence, "INSTANCE_LIMIT", 5)
    params = proposal_params_validate(version_id=noisy_version.version.pk, source="confident_learning")

    run = proposal_run_create(params=params)

    members = noisy_version.version.members.count()
    assert run.summary["instances"] == {
        "ran": False, "reason": f"{members:,} members: more than 5, same-object matching skipped"
    }  # fmt: skip
    assert run.summary["label_issues"] >= 5  # the probe still decides
