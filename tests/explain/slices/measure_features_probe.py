"""Measurement harness (not collected: run by path) for failure slices' feature choice on composite probes.

Stage 1 (`pytest tests/explain/slices/measure_features_probe.py -p no:randomly -s`, env H8_SEED=N, optionally
H8_TEST_OWNED=0.25 for ProbeConfig.test_owned_background_share): build the probe (tests/probes/composite_probe.py,
default config: 6 classes, own_background_rate 0.9), import it, train a
small CNN by Winnow (64 px, 15 epochs, CPU, as docs/METHODS.md §13), embed the version with efficientnet-lite0,
and cache the test split's model outputs, the encoder's rows and each sample's truth in H8_CACHE/seedN.npz
(seedN-ownedS.npz with H8_TEST_OWNED). Since the third round (docs/METHODS.md §13) also the training split's
(train_* keys: the model's features, predictions and log-probabilities, the encoder's rows, labels, true classes,
backgrounds) and background-only features of both splits (bg_features / bg_encoder, train_bg_*: the estimated
mask's foreground, GrabCut dilated by 2 px, filled with the rest's mean colour, then the model or the encoder).
Stage 2 (`python tests/explain/slices/measure_features_probe.py CHOICE seedN.npz ...`) runs the discovery with
the first round's settings (the defaults then: min_size 5, no true-class column) on one feature choice (model,
encoder, both) and prints, per class, the share of its worst slice made of images on another class's background,
and how many classes reach 0.7. Stage 2 is separate so that the held-out probes can be trained while the choice is
made on the tuning ones, and measured only once afterwards.
"""

import json
import os
import sys
import time
from pathlib import Path

import numpy as np

CACHE = Path(os.environ.get("H8_CACHE", "/tmp/h8/cache"))


def features_of(choice: str, data) -> np.ndarray:
    from curation.ml.clustering import l2_normalize

    if choice == "model":
        return data["features"]
    if choice == "encoder":
        return data["encoder"]
    return np.concatenate([l2_normalize(data["features"]), l2_normalize(data["encoder"].astype(np.float32))], axis=1)


def measure(choice: str, path: Path) -> dict:
    from explain.slices.ml.discovery import SliceSettings, slices_discover

    data = np.load(path)
    targets, predictions = data["targets"], data["predictions"]
    found = slices_discover(
        features_of(choice, data),
        targets,
        predictions,
        num_classes=int(data["classes"]),
        losses=data["losses"],
        settings=SliceSettings(min_size=5, true_class_weight=0.0),  # the first round's defaults (METHODS §13's table)
    )
    other = data["other_background"]
    shares = {c: round(float(other[s.members].mean()), 2) for c, s in sorted(found.worst_per_class().items())}
    chance = {c: round(float(other[targets == c].mean()), 2) for c in shares}  # the class's whole test set
    return {"probe": path.stem, "choice": choice, "accuracy": round(float((targets == predictions).mean()), 3),
            "shares": shares, "chance": chance, "reached": sum(v >= 0.7 for v in shares.values())}  # fmt: skip


def background_only(images: np.ndarray) -> np.ndarray:
    """uint8 N x H x W x 3 images with the estimated mask's foreground (GrabCut, dilated by 2 px) filled with the
    mean colour of the rest; an image without a mask is kept whole."""
    from scipy import ndimage

    from curation.ml.masks.estimated import grabcut_foreground

    out = images.copy()
    for image, target in zip(images, out, strict=True):
        mask = grabcut_foreground(image)
        if mask is None:
            continue
        mask = ndimage.binary_dilation(mask, iterations=2)
        if (~mask).any():
            target[mask] = image[~mask].mean(axis=0).astype(np.uint8)
    return out


def encoder_background_only(files: list[Path]) -> np.ndarray:
    """EfficientNet-Lite0 embeddings of the files with their estimated foreground filled (background_only)."""
    import torch
    from PIL import Image

    from curation.ml.encoders.base import create_encoder

    encoder = create_encoder("efficientnet-lite0", device="cpu")
    rows = []
    for start in range(0, len(files), 64):
        images = np.stack([np.asarray(Image.open(f).convert("RGB")) for f in files[start : start + 64]])
        batch = torch.stack([encoder.preprocess(Image.fromarray(i)) for i in background_only(images)])
        rows.append(encoder.encode_images(batch).cpu().numpy())
    return np.concatenate(rows).astype(np.float32)


def test_stage_one(admin_user, tmp_path, capsys):
    """Build, import, train, embed and cache one probe (H8_SEED)."""
    import pytest
    from django.core.management import call_command

    from curation.embeddings.selectors.sets import embedding_set_arrays, embedding_set_latest_ready
    from curation.models import DatasetVersion, Sample, VersionSample
    from explain.slices.services.inference import features_and_predictions, model_outputs
    from jobs.models import JobStatus
    from jobs.services import job_execute
    from robustness.models import TrainedModel
    from robustness.services import load_trained_model
    from robustness.services.training import training_run_start
    from tests.probes.composite_probe import ProbeConfig, probe_build

    pytest.importorskip("faiss")
    seed = int(os.environ["H8_SEED"])
    owned_share = os.environ.get("H8_TEST_OWNED")  # e.g. 0.25: ProbeConfig.test_owned_background_share
    share = None if owned_share is None else float(owned_share)
    started = time.monotonic()
    truth = probe_build(tmp_path / "probe", ProbeConfig(seed=seed, test_owned_background_share=share))
    call_command("import_dataset", str(tmp_path / "probe" / "images"), "--name", "probe", "--user", admin_user.username)
    version = DatasetVersion.objects.get(dataset__name="probe")
    training = training_run_start(
        version=version, arch="small-cnn", requested_by=admin_user, epochs=15, batch_size=32, lr=3e-3, img_size=64,
        seed=0, device="cpu", enqueue=False,
    )  # fmt: skip
    assert job_execute(training.job_id).status == JobStatus.SUCCEEDED
    trained = TrainedModel.objects.get(run=training)
    trained_at = time.monotonic()
    call_command(
        "embed", str(version.pk), "--encoder", "efficientnet-lite0", "--device", "cpu", "--user", admin_user.username
    )
    embedded_at = time.monotonic()
    capsys.readouterr()

    class Ctx:
        def progress(self, *args, **kwargs): ...
        def log(self, line): ...
        def check_cancelled(self): ...

    outputs = model_outputs(trained_model=trained, version=version, split="test", params={"device": "cpu"}, ctx=Ctx())
    ids = outputs.evaluation_set.sample_ids
    arrays = embedding_set_arrays(embedding_set_latest_ready(version_id=version.pk))
    rows = np.searchsorted(arrays.row_ids, ids)
    assert (arrays.row_ids[rows] == ids).all()
    names = dict(Sample.objects.filter(pk__in=ids.tolist()).values_list("pk", "original_name"))
    assert VersionSample.objects.filter(version=version, split="test").count() == len(ids)
    classes = outputs.evaluation_set.classes
    other, own, backgrounds = [], [], []
    for sample_id, target in zip(ids.tolist(), outputs.evaluation_set.targets.tolist(), strict=True):
        entry = truth.files[names[sample_id]]
        owner = entry["own_background_of"]
        other.append(owner is not None and owner != classes[target])
        own.append(owner == classes[target])
        backgrounds.append(entry["background"])
    # The training split (third round: a held-out sample's neighbours among the training samples), its truth,
    # and background-only features of both splits (the estimated mask's foreground filled with the background's
    # mean colour) under the model and the encoder.
    train = model_outputs(trained_model=trained, version=version, split="train", params={"device": "cpu"}, ctx=Ctx())
    train_ids = train.evaluation_set.sample_ids
    train_rows = np.searchsorted(arrays.row_ids, train_ids)
    assert (arrays.row_ids[train_rows] == train_ids).all()
    names.update(Sample.objects.filter(pk__in=train_ids.tolist()).values_list("pk", "original_name"))
    train_truth = [truth.files[names[i]] for i in train_ids.tolist()]
    background_at = time.monotonic()
    model, _, _ = load_trained_model(trained)
    backgrounds_only = {}
    for tag, part in (("", outputs), ("train_", train)):
        _, backgrounds_only[f"{tag}bg_features"], _ = features_and_predictions(
            model.eval(), background_only(part.evaluation_set.images), device="cpu", batch_size=64
        )
        files = [tmp_path / "probe" / "images" / names[i] for i in part.evaluation_set.sample_ids.tolist()]
        backgrounds_only[f"{tag}bg_encoder"] = encoder_background_only(files)
    CACHE.mkdir(parents=True, exist_ok=True)
    name = f"seed{seed}" if share is None else f"seed{seed}-owned{round(share * 100)}"
    np.savez(
        CACHE / f"{name}.npz", features=outputs.features, encoder=np.asarray(arrays.embeddings[rows], np.float32),
        targets=outputs.evaluation_set.targets, predictions=outputs.predictions, losses=outputs.true_class_losses(),
        log_probabilities=outputs.log_probabilities, other_background=np.asarray(other),
        own_background=np.asarray(own), backgrounds=np.asarray(backgrounds), classes=len(classes), sample_ids=ids,
        train_features=train.features, train_encoder=np.asarray(arrays.embeddings[train_rows], np.float32),
        train_targets=train.evaluation_set.targets, train_predictions=train.predictions,
        train_log_probabilities=train.log_probabilities, train_sample_ids=train_ids,
        train_backgrounds=np.asarray([e["background"] for e in train_truth]),
        train_true_class=np.asarray([classes.index(e["class"]) for e in train_truth]), **backgrounds_only,
    )  # fmt: skip
    with capsys.disabled():
        print(json.dumps({"probe": name, "samples": len(ids), "other_background": float(np.mean(other)),
                          "accuracy": float((outputs.predictions == outputs.evaluation_set.targets).mean()),
                          "train_s": round(trained_at - started), "embed_s": round(embedded_at - trained_at),
                          "train_samples": len(train_ids), "background_s": round(time.monotonic() - background_at),
                          "splits": sorted(set(VersionSample.objects.filter(version=version).values_list("split",
                                                                                                        flat=True))),
                          "total_s": round(time.monotonic() - started)}))  # fmt: skip


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
    for argument in sys.argv[2:]:
        print(json.dumps(measure(sys.argv[1], Path(argument))))
