"""Aggregating reviewers' votes: majority with a quorum, and Dawid–Skene (1979) EM.

Votes are categorical responses (yes / maybe / no are categories 0..K-1). A *task* is one
(item, candidate label) pair; each reviewer gives at most one response per task.

Majority: the response given by strictly more than half of the task's responses wins; fewer
responses than the quorum, or no such response, gives None (no consensus).

Dawid–Skene: each annotator a has a confusion matrix pi[a, k, l] = P(responds l | truth k) and the
truths have priors p[k]. EM starts from the soft majority (each task's response shares), then
alternates M (priors and confusions from the soft truths, with additive smoothing `alpha` so that
an unseen (k, l) is not impossible) and E (posterior of each task's truth) until the posteriors
move less than `tol`. Choices: square confusions (truths and responses are the same categories),
smoothing 0.01, at most 200 iterations, stop when no posterior moves by 1e-4. ReaL merged its
raters' answers this way.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def majority_response(counts: np.ndarray, *, quorum: int = 1) -> int | None:
    """The category with strictly more than half of ``counts`` (responses per category), else None.

    None also when fewer than ``quorum`` responses were given.
    """
    total = int(counts.sum())
    if total == 0 or total < quorum:
        return None
    best = int(np.argmax(counts))
    return best if 2 * int(counts[best]) > total else None


@dataclass(frozen=True)
class DawidSkeneResult:
    posteriors: np.ndarray  # (n_tasks, K): P(truth = k | responses)
    priors: np.ndarray  # (K,)
    confusions: np.ndarray  # (n_annotators, K, K): P(response l | truth k)
    iterations: int
    converged: bool

    @property
    def truths(self) -> np.ndarray:
        return np.argmax(self.posteriors, axis=1)


def dawid_skene(
    tasks: np.ndarray,
    annotators: np.ndarray,
    responses: np.ndarray,
    *,
    n_tasks: int,
    n_annotators: int,
    n_classes: int,
    alpha: float = 0.01,
    max_iter: int = 200,
    tol: float = 1e-4,
) -> DawidSkeneResult:
    """Dawid–Skene EM over observations (task, annotator, response), one array each (same length).

    Tasks without any observation keep the prior as their posterior.
    """
    tasks, annotators, responses = (np.asarray(a, dtype=np.int64) for a in (tasks, annotators, responses))
    counts = np.zeros((n_tasks, n_classes))
    np.add.at(counts, (tasks, responses), 1.0)
    seen = counts.sum(axis=1) > 0
    posteriors = np.full((n_tasks, n_classes), 1.0 / n_classes)
    posteriors[seen] = counts[seen] / counts[seen].sum(axis=1, keepdims=True)
    classes = np.arange(n_classes)
    priors, confusions = np.full(n_classes, 1.0 / n_classes), np.zeros((n_annotators, n_classes, n_classes))
    converged, iterations = False, 0
    while iterations < max_iter and not converged:
        iterations += 1
        # M step: priors and confusions from the soft truths of the tasks that were seen.
        priors = (posteriors[seen].sum(axis=0) + alpha) / (seen.sum() + alpha * n_classes)
        confusions = np.full((n_annotators, n_classes, n_classes), alpha)
        np.add.at(confusions, (annotators[:, None], classes[None, :], responses[:, None]), posteriors[tasks])
        confusions /= confusions.sum(axis=2, keepdims=True)
        # E step: log posterior = log prior + sum of log P(response | truth) over the task's observations.
        log_posteriors = np.tile(np.log(priors), (n_tasks, 1))
        np.add.at(log_posteriors, tasks, np.log(confusions[annotators, :, responses]))
        log_posteriors -= log_posteriors.max(axis=1, keepdims=True)
        updated = np.exp(log_posteriors)
        updated /= updated.sum(axis=1, keepdims=True)
        converged = float(np.abs(updated - posteriors).max()) < tol
        posteriors = updated
    return DawidSkeneResult(posteriors, priors, confusions, iterations, converged)
