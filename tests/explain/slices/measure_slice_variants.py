"""Measurement harness (not collected: run by path) comparing failure-slice discovery variants on cached probes.

Reads the caches of measure_features_probe.py's stage 1 (H8_CACHE/seedN.npz: the test split's model features,
encoder rows, predictions, log-probabilities and each sample's truth) and runs variants of the discovery that
differ in what is clustered and how slices are formed and ranked, all built from explain/slices/ml/discovery.py's
own pieces. For each variant and probe it prints the number of classes whose worst slice is >= 70% made of images
on another class's background (issue 16's target: >= 4 of 6), averaged over k-means seeds, and the mean share.

    .venv/bin/python tests/explain/slices/measure_slice_variants.py /tmp/h1/cache/seed7.npz ...
    .venv/bin/python tests/explain/slices/measure_slice_variants.py --only default,true-w2 FILES  # named variants
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

TARGET_SHARE = 0.7


@dataclass(frozen=True)
class Variant:
    features: str = "model"  # model | encoder | both
    space: str = "embedding"  # embedding | onehot | probs | true (weight * p(true class) joined)
    weight: float = 0.0
    group: str = "class"  # class | errors (errors apart from correct) | prediction (class x predicted class)
    min_size: int = 5
    rank: str = "default"  # default (discovery.rank_key) | loss (mean loss only) | confidence (mean 1 - p_true)


def features_of(choice: str, data) -> np.ndarray:
    from curation.ml.clustering import l2_normalize

    if choice == "model":
        return l2_normalize(data["features"])
    if choice == "encoder":
        return l2_normalize(data["encoder"].astype(np.float32))
    return l2_normalize(
        np.concatenate([l2_normalize(data["features"]), l2_normalize(data["encoder"].astype(np.float32))], axis=1)
    )


def space_of(variant: Variant, data) -> np.ndarray:
    from curation.ml.clustering import l2_normalize

    unit = features_of(variant.features, data)
    if variant.space == "embedding" or variant.weight <= 0:
        return unit
    probabilities = np.exp(data["log_probabilities"].astype(np.float64))
    targets, predictions = data["targets"], data["predictions"]
    if variant.space == "onehot":
        extra = np.eye(probabilities.shape[1])[predictions]
    elif variant.space == "probs":
        extra = probabilities
    elif variant.space == "true":
        extra = probabilities[np.arange(targets.size), targets][:, None]
    else:
        raise ValueError(variant.space)
    return l2_normalize(np.concatenate([unit, variant.weight * extra], axis=1).astype(np.float32))


def worst_per_class(variant: Variant, data, kmeans_seed: int) -> dict[int, np.ndarray]:
    """Each class's worst slice (member positions) under the variant."""
    from explain.slices.ml.discovery import Slice, SliceSettings, _cluster
    from robustness.ml.metrics import wilson_interval

    settings = SliceSettings(min_size=variant.min_size, seed=kmeans_seed)
    points = space_of(variant, data)
    targets, predictions, losses = data["targets"], data["predictions"], data["losses"].astype(np.float64)
    p_true = np.exp(-losses)
    correct = targets == predictions
    worst = {}
    for c in np.unique(targets):
        rows = np.flatnonzero(targets == c)
        class_accuracy = float(correct[rows].mean())
        if variant.group == "class":
            groups = [rows]
        elif variant.group == "errors":
            groups = [g for g in (rows[~correct[rows]], rows[correct[rows]]) if g.size]
        else:
            groups = [rows[predictions[rows] == p] for p in np.unique(predictions[rows])]
        found = []
        for group in groups:
            floor = 2 if variant.group == "class" else 1
            k = max(floor, min(settings.max_slices_per_class, group.size // variant.min_size))
            labels, _ = _cluster(np.ascontiguousarray(points[group]), k, settings)
            for label in np.unique(labels):
                members = group[labels == label]
                if members.size < variant.min_size:
                    continue
                hits = int(correct[members].sum())
                low, high = wilson_interval(hits, members.size)
                found.append(
                    Slice(int(c), members, hits / members.size, low, high, class_accuracy, {},
                          mean_loss=float(losses[members].mean()))
                )  # fmt: skip
        if not found:
            continue
        if variant.rank == "default":
            found.sort(key=lambda s: (*s.rank_key(), int(s.members[0])))
        elif variant.rank == "loss":
            found.sort(key=lambda s: (-s.mean_loss, int(s.members[0])))
        else:
            found.sort(key=lambda s: (-(1 - p_true[s.members]).mean(), int(s.members[0])))
        worst[int(c)] = found[0].members
    return worst


def measure(variant: Variant, data, kmeans_seeds: range) -> dict:
    other = data["other_background"].astype(bool)
    reached, shares, sizes = [], [], []
    for seed in kmeans_seeds:
        worst = worst_per_class(variant, data, seed)
        share = [float(other[m].mean()) for m in worst.values()]
        reached.append(sum(s >= TARGET_SHARE for s in share))
        shares.append(float(np.mean(share)) if share else 0.0)
        sizes += [m.size for m in worst.values()]
    return {"reached": float(np.mean(reached)), "reached_seed0": reached[0], "share": float(np.mean(shares)),
            "size": float(np.mean(sizes)) if sizes else 0.0}  # fmt: skip


def variants() -> dict[str, Variant]:
    grid: dict[str, Variant] = {}
    for features in ("model", "encoder", "both"):
        for min_size in (5, 4, 3):
            base = Variant(features=features, min_size=min_size)
            tag = f"{features}-m{min_size}"
            grid[f"{tag}-emb"] = base
            for space in ("onehot", "probs", "true"):
                for weight in (0.5, 1.0, 2.0):
                    grid[f"{tag}-{space}-w{weight:g}"] = replace(base, space=space, weight=weight)
            grid[f"{tag}-emb-errors"] = replace(base, group="errors")
            grid[f"{tag}-true-w1-errors"] = replace(base, group="errors", space="true", weight=1.0)
            grid[f"{tag}-emb-prediction"] = replace(base, group="prediction")
            grid[f"{tag}-emb-rankloss"] = replace(base, rank="loss")
            grid[f"{tag}-emb-rankconf"] = replace(base, rank="confidence")
            grid[f"{tag}-true-w1-rankconf"] = replace(base, space="true", weight=1.0, rank="confidence")
            for weight in (4.0, 8.0, 16.0, 32.0):
                grid[f"{tag}-true-w{weight:g}"] = replace(base, space="true", weight=weight)
            grid[f"{tag}-true-w2-errors"] = replace(base, group="errors", space="true", weight=2.0)
    return grid


def chance(data) -> dict:
    """What a slice would give without clustering: the class's whole test set, and its top-3 losses."""
    other, targets, losses = data["other_background"].astype(bool), data["targets"], data["losses"]
    whole, top3 = [], []
    for c in np.unique(targets):
        rows = np.flatnonzero(targets == c)
        whole.append(float(other[rows].mean()))
        top3.append(float(other[rows[np.argsort(-losses[rows])[:3]]].mean()))
    return {
        "whole_class_reached": sum(s >= TARGET_SHARE for s in whole),
        "top3_loss_reached": sum(s >= TARGET_SHARE for s in top3),
        "per_class": [int((targets == c).sum()) for c in np.unique(targets)],
        "accuracy": round(float((targets == data["predictions"]).mean()), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("caches", nargs="+", type=Path)
    parser.add_argument("--only", default="", help="comma-separated variant names")
    parser.add_argument("--kmeans-seeds", type=int, default=5)
    args = parser.parse_args()
    grid = variants()
    names = args.only.split(",") if args.only else list(grid)
    loaded = {path.stem: dict(np.load(path)) for path in args.caches}
    for probe, data in loaded.items():
        print(json.dumps({"probe": probe, **chance(data)}))
    for name in names:
        row = {probe: measure(grid[name], data, range(args.kmeans_seeds)) for probe, data in loaded.items()}
        print(json.dumps({"variant": name, **{p: [r["reached"], r["reached_seed0"], round(r["share"], 2),
                                                  round(r["size"], 1)] for p, r in row.items()}}))  # fmt: skip


if __name__ == "__main__":
    main()
