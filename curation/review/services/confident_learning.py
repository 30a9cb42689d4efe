"""Confident learning on a linear probe's out-of-fold probabilities (cleanlab; docs/METHODS.md §4).

The probe learns the classes with at least two labelled members (the others' members sit out and are
counted). The multi-label variant runs when members carry several labels (multi_label "auto") or when
asked ("yes"). Flagged samples get their most probable other class and every other class reaching
`min_probability`; unflagged ones, other classes reaching `secondary_probability` (a second object).
Unlabeled members get suggestions (source linear_probe) from a probe trained on every labelled member.
Which samples are label issues is decided on the primary label per split (ml.split_label_issues): out of fold
over train, held-out splits scored by the train probe and their own; flags a shift explains are kept apart.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from core.api_errors import ApplicationError
from curation.embeddings.models import EmbeddingSet
from curation.models import DatasetVersion
from curation.review.ml import proposals as ml
from curation.review.models import ProposalSource
from curation.review.services.instance_evidence import composite_embedder, with_instance_evidence
from curation.review.services.proposal_inputs import (
    Members,
    Proposal,
    class_order,
    member_embeddings,
    top_k_proposals,
)
from curation.review.services.proposal_params import ProposalParams

Progress = Callable[[int, int, str], None]
REFERENCE_SPLIT = "train"
LISTED_SAMPLES = 1000  # sample ids listed per kind of flag in the summary (every flag is on its proposals)


def confident_learning(
    params: ProposalParams, version: DatasetVersion, members: Members, report: Progress
) -> tuple[list[Proposal], dict[str, Any]]:
    embedding_set = EmbeddingSet.objects.get(pk=params.id_of("embedding_set_id"))
    report(0, 4, "reading embeddings")
    rows, vectors = member_embeddings(embedding_set, members)
    classes = class_order(version, members)
    index = {name: i for i, name in enumerate(classes)}
    labelled = np.asarray([bool(members.label_sets[r]) for r in rows], dtype=bool)
    multi = params.multi_label == "yes" or (
        params.multi_label == "auto" and any(len(members.label_sets[r]) > 1 for r in rows)
    )
    config = ml.ProbeConfig(folds=params.folds, C=params.C, seed=params.seed)
    report(1, 4, "out-of-fold probabilities")
    # The probe learns the classes with at least two labelled members; the others' members sit out.
    primary = np.asarray([index.get(members.primary[r] or members.label_sets[r][0], -1) for r in rows[labelled]])
    counts = np.bincount(primary[primary >= 0], minlength=len(classes))
    learnable = np.flatnonzero(counts >= 2)
    if learnable.size < 2:
        raise ApplicationError(
            "Confident learning needs at least two classes with two labelled members each.", code="nothing_to_learn"
        )
    compact = {int(c): i for i, c in enumerate(learnable)}
    in_probe = np.asarray([compact.get(int(p), -1) >= 0 for p in primary], dtype=bool)
    probe_rows = rows[labelled][in_probe]
    probe_vectors = vectors[labelled][in_probe]
    names = [classes[c] for c in learnable]
    labels = np.asarray([compact[int(p)] for p in primary[in_probe]])
    decide = _Decider(members, params, embedding_set.encoder_name, lambda message: report(2, 4, message))
    if multi:
        proposals, flags = _multilabel_issues(probe_rows, probe_vectors, labels, names, members, config, decide)
    else:
        proposals, flags = _single_label_issues(probe_rows, probe_vectors, labels, names, members, config, decide)
    report(3, 4, "suggestions for unlabeled members")
    unlabeled = rows[~labelled]
    if unlabeled.size:
        fit_labels = np.asarray([compact[int(p)] for p in primary[in_probe]])
        probabilities = ml.probe_probabilities(probe_vectors, fit_labels, vectors[~labelled], len(names), config)
        proposals += top_k_proposals(
            unlabeled, probabilities, names, members, params, ProposalSource.LINEAR_PROBE, with_issue=False
        )
    summary = {
        "variant": "multi_label" if multi else "single_label",
        "classes": names,
        "in_probe": int(probe_rows.size),
        "left_out_rare_classes": int(labelled.sum() - probe_rows.size),
        "unlabeled": int(unlabeled.size),
        "not_embedded": int(members.sample_ids.size - rows.size),
        **flags,
    }
    return proposals, summary


class _Decider:
    """Label issues on the primary label per split (ml.split_label_issues), then same-object evidence where the
    run asks for it (instance_evidence): images whose object is found in other images are decided by them."""

    def __init__(self, members: Members, params: ProposalParams, encoder_name: str, report: Callable[[str], None]):
        self.members, self.params, self.report = members, params, report
        self.embed = composite_embedder(encoder_name)  # the background swap embeds with the run's encoder

    def __call__(
        self, rows: np.ndarray, vectors: np.ndarray, labels: np.ndarray, n_classes: int, config: ml.ProbeConfig
    ) -> tuple[ml.SplitLabelIssues, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        """(outcome, splits, object class per row (-1 where no partner decided), partners per row, instances entry)."""
        splits = np.asarray([self.members.splits[r] for r in rows.tolist()])
        outcome = ml.split_label_issues(vectors, labels, splits, n_classes, config, reference_split=REFERENCE_SPLIT)
        sample_ids = self.members.sample_ids[rows]
        reference = splits == REFERENCE_SPLIT if outcome.method == "per_split" else None
        outcome, object_class, partners, instances = with_instance_evidence(
            outcome, labels, sample_ids, self.params.instances, self.report, reference, self.embed
        )
        return outcome, splits, object_class, partners, instances


def _issue_class(outcome: ml.SplitLabelIssues, object_class: np.ndarray, i: int) -> set[int]:
    """The class proposed for a flagged row: the class its same-object partners show, else the probe's best."""
    if not outcome.is_issue[i]:
        return set()
    return {int(object_class[i])} if object_class[i] >= 0 else {int(np.argmax(outcome.probabilities[i]))}


def _partner_evidence(object_class: np.ndarray, partners: np.ndarray, names: list[str], i: int) -> dict[str, Any]:
    if object_class[i] < 0:
        return {}
    return {"same_object_partners": int(partners[i]), "object_class": names[int(object_class[i])]}


def _single_label_issues(
    rows: np.ndarray,
    vectors: np.ndarray,
    labels: np.ndarray,
    names: list[str],
    members: Members,
    config: ml.ProbeConfig,
    decide: _Decider,
) -> tuple[list[Proposal], dict[str, Any]]:
    outcome, splits, object_class, partners, instances = decide(rows, vectors, labels, len(names), config)
    params = decide.params
    probabilities = outcome.probabilities
    proposals = []
    for i, row in enumerate(rows.tolist()):
        have = set(members.label_sets[row])
        flagged = bool(outcome.is_issue[i])
        cut = params.min_probability if flagged else params.secondary_probability
        chosen = set(np.flatnonzero(probabilities[i] >= cut).tolist()) | _issue_class(outcome, object_class, i)
        evidence = {
            "flagged": flagged,
            "shift": bool(outcome.is_shift[i]),
            "split": members.splits[row],
            "given": names[labels[i]],
            "given_probability": round(float(probabilities[i, labels[i]]), 4),
            **_partner_evidence(object_class, partners, names, i),
        }
        for c in sorted(chosen, key=lambda c: -probabilities[i, c]):
            if names[c] not in have:
                proposals.append(
                    Proposal(
                        int(members.sample_ids[row]), names[c], float(probabilities[i, c]),
                        float(outcome.issue_score[i]), ProposalSource.CONFIDENT_LEARNING, evidence,
                    )
                )  # fmt: skip
    return proposals, {**_flags_summary(outcome, splits, members.sample_ids[rows]), "instances": instances}


def _flags_summary(outcome: ml.SplitLabelIssues, splits: np.ndarray, sample_ids: np.ndarray) -> dict[str, Any]:
    by_split = {
        split: {
            "members": int((splits == split).sum()),
            "label_issues": int(outcome.is_issue[splits == split].sum()),
            "shift_flags": int(outcome.is_shift[splits == split].sum()),
        }
        for split in sorted(set(splits.tolist()))
    }
    return {
        "method": outcome.method,
        "reference_split": REFERENCE_SPLIT if outcome.method == "per_split" else None,
        "folds": outcome.folds,
        "label_issues": int(outcome.is_issue.sum()),
        "shift_flags": int(outcome.is_shift.sum()),
        "by_split": by_split,
        "label_issue_samples": sample_ids[outcome.is_issue][:LISTED_SAMPLES].tolist(),
        "shift_samples": sample_ids[outcome.is_shift][:LISTED_SAMPLES].tolist(),
    }


def _multilabel_issues(
    rows: np.ndarray,
    vectors: np.ndarray,
    primary: np.ndarray,
    names: list[str],
    members: Members,
    config: ml.ProbeConfig,
    decide: _Decider,
) -> tuple[list[Proposal], dict[str, Any]]:
    # Label issues (and shift flags) are judged on the primary label per split, as in the single-label variant;
    # the one-vs-rest probes choose which further labels to propose.
    index = {name: i for i, name in enumerate(names)}
    label_lists = [sorted({index[n] for n in members.label_sets[row] if n in index}) for row in rows.tolist()]
    matrix = np.zeros((rows.size, len(names)), dtype=int)
    for i, labels in enumerate(label_lists):
        matrix[i, labels] = 1
    probabilities, _ = ml.out_of_fold_multilabel_probabilities(vectors, matrix, config)
    outcome, splits, object_class, partners, instances = decide(rows, vectors, primary, len(names), config)
    params = decide.params
    proposals = []
    for i, row in enumerate(rows.tolist()):
        flagged = bool(outcome.is_issue[i])
        cut = params.min_probability if flagged else params.secondary_probability
        chosen = set(np.flatnonzero(probabilities[i] >= cut).tolist()) | _issue_class(outcome, object_class, i)
        evidence = {
            "flagged": flagged,
            "shift": bool(outcome.is_shift[i]),
            "given": members.label_sets[row],
            **_partner_evidence(object_class, partners, names, i),
        }
        for c in sorted(c for c in chosen if matrix[i, c] == 0):
            proposals.append(
                Proposal(
                    int(members.sample_ids[row]), names[c], float(probabilities[i, c]),
                    float(outcome.issue_score[i]), ProposalSource.CONFIDENT_LEARNING, evidence,
                )
            )  # fmt: skip
    return proposals, {**_flags_summary(outcome, splits, members.sample_ids[rows]), "instances": instances}
