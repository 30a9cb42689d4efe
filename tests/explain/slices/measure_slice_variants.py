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
    # | context (tiers of rank_key, then mean foreign context) | context-below (at or below the class: mean foreign
    # context first) | context-all (mean foreign context alone)
    # Third round: foreign context, from each held-out sample's k nearest TRAINING samples in `context` space
    # (model | encoder | bgmodel | bgencoder: the background-only features), "" for none.
    context: str = ""
    context_k: int = 10
    context_score: str = "share"  # share (neighbours not of the class) | max (largest share of one other class)
    context_weight: float = 0.0  # the score joined to the clustered row (0: not joined)


def features_of(choice: str, data) -> np.ndarray:
    from curation.ml.clustering import l2_normalize

    if choice == "model":
        return l2_normalize(data["features"])
    if choice == "encoder":
        return l2_normalize(data["encoder"].astype(np.float32))
    return l2_normalize(
        np.concatenate([l2_normalize(data["features"]), l2_normalize(data["encoder"].astype(np.float32))], axis=1)
    )


CONTEXT_KEYS = {"model": "features", "encoder": "encoder", "bgmodel": "bg_features", "bgencoder": "bg_encoder"}
_CONTEXT_CACHE: dict = {}


def neighbours(data, context: str, k: int) -> np.ndarray:
    """(n, k) training labels of each held-out sample's k nearest training samples (cosine, FAISS)."""
    import faiss

    from curation.ml.clustering import l2_normalize

    key = (id(data), context, k)
    if key not in _CONTEXT_CACHE:
        name = CONTEXT_KEYS[context]
        train = np.ascontiguousarray(l2_normalize(data[f"train_{name}"].astype(np.float32)))
        index = faiss.IndexFlatIP(train.shape[1])
        index.add(train)
        _, rows = index.search(np.ascontiguousarray(l2_normalize(data[name].astype(np.float32))), k)
        _CONTEXT_CACHE[key] = data["train_targets"][rows]
    return _CONTEXT_CACHE[key]


def foreign_context(data, context: str, k: int, score: str = "share") -> np.ndarray:
    """Per held-out sample: the share of its k nearest training samples whose label is not its class (share), or
    the largest share of any one other class (max)."""
    labels = neighbours(data, context, k)
    targets = data["targets"]
    if score == "share":
        return (labels != targets[:, None]).mean(axis=1)
    counts = np.stack([(labels == c).sum(axis=1) for c in range(int(data["classes"]))], axis=1).astype(float)
    counts[np.arange(targets.size), targets] = 0
    return counts.max(axis=1) / k


def context_vote(data, context: str, k: int) -> np.ndarray:
    """The class most of a sample's k nearest training samples have (ties: the sample's own class, else lowest)."""
    labels = neighbours(data, context, k)
    counts = np.stack([(labels == c).sum(axis=1) for c in range(int(data["classes"]))], axis=1)
    vote = counts.argmax(axis=1)
    targets = data["targets"]
    own = counts[np.arange(targets.size), targets] == counts.max(axis=1)
    return np.where(own, targets, vote)


def space_of(variant: Variant, data) -> np.ndarray:
    from curation.ml.clustering import l2_normalize

    unit = features_of(variant.features, data)
    columns = [unit]
    if variant.context and variant.context_weight > 0:  # [unit, the space's column, context], normalised once
        score = foreign_context(data, variant.context, variant.context_k, variant.context_score)
        columns.append(variant.context_weight * score[:, None])
    if variant.space == "embedding" or variant.weight <= 0:
        return unit if len(columns) == 1 else l2_normalize(np.concatenate(columns, axis=1).astype(np.float32))
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
    columns.insert(1, variant.weight * extra)
    return l2_normalize(np.concatenate(columns, axis=1).astype(np.float32))


def worst_per_class(variant: Variant, data, kmeans_seed: int) -> dict[int, np.ndarray]:
    """Each class's worst slice (member positions) under the variant."""
    from explain.slices.ml.discovery import Slice, SliceSettings, _cluster
    from robustness.ml.metrics import wilson_interval

    settings = SliceSettings(min_size=variant.min_size, seed=kmeans_seed)
    points = space_of(variant, data)
    targets, predictions, losses = data["targets"], data["predictions"], data["losses"].astype(np.float64)
    p_true = np.exp(-losses)
    correct = targets == predictions
    context = (
        foreign_context(data, variant.context, variant.context_k, variant.context_score)
        if variant.context
        else np.zeros(targets.size)
    )
    worst = {}
    for c in np.unique(targets):
        rows = np.flatnonzero(targets == c)
        class_accuracy = float(correct[rows].mean())
        if variant.group == "class":
            groups = [rows]
        elif variant.group == "errors":
            groups = [g for g in (rows[~correct[rows]], rows[correct[rows]]) if g.size]
        elif variant.group in ("vote", "vote-class"):
            groups = vote_groups(data, variant, rows)
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
        elif variant.rank == "context":
            found.sort(key=lambda s: (s.rank_key()[0], -context[s.members].mean(), *s.rank_key()[1:]))
        elif variant.rank == "context-below":
            found.sort(key=lambda s: (s.gap < 0, -context[s.members].mean(), *s.rank_key()))
        elif variant.rank == "context-all":
            found.sort(key=lambda s: (-context[s.members].mean(), *s.rank_key()))
        elif variant.rank == "loss":
            found.sort(key=lambda s: (-s.mean_loss, int(s.members[0])))
        else:
            found.sort(key=lambda s: (-(1 - p_true[s.members]).mean(), int(s.members[0])))
        worst[int(c)] = found[0].members
    return worst


def vote_groups(data, variant: Variant, rows: np.ndarray) -> list[np.ndarray]:
    """vote: the class's samples whose training neighbours' vote is their class, and the others; vote-class: one
    group per voted class, a foreign group under min_size merged into the largest foreign group."""
    vote = context_vote(data, variant.context or "model", variant.context_k)[rows]
    c = data["targets"][rows[0]]
    if variant.group == "vote":
        return [g for g in (rows[vote == c], rows[vote != c]) if g.size]
    groups = {int(v): rows[vote == v] for v in np.unique(vote)}
    own = groups.pop(int(c), None)
    small = [g for g in groups.values() if g.size < variant.min_size]
    big = [g for g in groups.values() if g.size >= variant.min_size]
    if small:
        merged = np.concatenate(small)
        if big:
            big.sort(key=lambda g: -g.size)
            big[0] = np.concatenate([big[0], merged])
        else:
            big = [merged]
    return [g for g in [own, *big] if g is not None and g.size]


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
    grid.update(context_variants())
    return grid


def context_variants() -> dict[str, Variant]:
    """Third round: foreign context, on top of today's default (model features, min_size 3, true-class weight 8)."""
    grid: dict[str, Variant] = {}
    default = Variant(min_size=3, space="true", weight=8.0)
    for context in CONTEXT_KEYS:
        for k in (10, 20):
            for score in ("share", "max"):
                tag = f"ctx-{context}-k{k}-{score}"
                for weight in (1.0, 2.0, 4.0, 8.0):
                    on = replace(default, context=context, context_k=k, context_score=score, context_weight=weight)
                    grid[f"{tag}-w{weight:g}"] = on
                    grid[f"{tag}-w{weight:g}-rank"] = replace(on, rank="context")
                    grid[f"{tag}-w{weight:g}-notrue"] = replace(on, space="embedding", weight=0.0)
                    grid[f"{tag}-w{weight:g}-notrue-rank"] = replace(on, space="embedding", weight=0.0, rank="context")
                base = replace(default, context=context, context_k=k, context_score=score)
                for rank in ("context", "context-below", "context-all"):
                    grid[f"{tag}-{rank}"] = replace(base, rank=rank)
            for group in ("vote", "vote-class"):
                base = replace(default, context=context, context_k=k, group=group)
                grid[f"ctx-{context}-k{k}-{group}"] = base
                grid[f"ctx-{context}-k{k}-{group}-rank"] = replace(base, rank="context")
    return grid


# The third round's shortlist (`--only round3`), cut from context_variants after tuning probe 7: the "max" score
# led there; the share score, rank-only and grouping variants are kept for the model's features only.
ROUND3 = (
    ["model-m5-emb", "model-m3-true-w8"]
    + [
        f"ctx-{context}-k{k}-max-w{weight}{tail}"
        for context in CONTEXT_KEYS
        for k in (10, 20)
        for weight in (2, 4, 8)
        for tail in ("", "-rank", "-notrue-rank")
    ]
    + [f"ctx-model-k10-{name}" for name in ("share-w4-rank", "max-context", "vote-class", "vote-class-rank")]
)


def context_quality(data) -> dict:
    """How well each context space's score finds the images on another class's background: ROC AUC, and classes
    whose 3 highest-scoring images are >= 70% such images (the ceiling of a ranking by the score)."""
    other, targets = data["other_background"].astype(bool), data["targets"]
    quality = {}
    for context in CONTEXT_KEYS:
        if f"train_{CONTEXT_KEYS[context]}" not in data:
            continue
        for k in (10, 20):
            score = foreign_context(data, context, k)
            positive, negative = score[other], score[~other]
            auc = float(
                (positive[:, None] > negative[None]).mean() + 0.5 * (positive[:, None] == negative[None]).mean()
            )
            top3 = 0
            for c in np.unique(targets):
                rows = np.flatnonzero(targets == c)
                top3 += other[rows[np.argsort(-score[rows], kind="stable")[:3]]].mean() >= TARGET_SHARE
            quality[f"{context}-k{k}"] = [round(auc, 3), int(top3)]
    return quality


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
    if names == ["round3"]:
        names = ROUND3
    loaded = {path.stem: dict(np.load(path)) for path in args.caches}
    for probe, data in loaded.items():
        print(json.dumps({"probe": probe, **chance(data), "context_auc_top3": context_quality(data)}))
    for name in names:
        row = {probe: measure(grid[name], data, range(args.kmeans_seeds)) for probe, data in loaded.items()}
        print(json.dumps({"variant": name, **{p: [r["reached"], r["reached_seed0"], round(r["share"], 2),
                                                  round(r["size"], 1)] for p, r in row.items()}}))  # fmt: skip


if __name__ == "__main__":
    main()
