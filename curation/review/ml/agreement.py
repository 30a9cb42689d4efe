"""Inter-rater agreement: Cohen's kappa (two raters) and Fleiss' kappa (several raters per unit).

Cohen (1960): kappa = (p_o − p_e) / (1 − p_e), p_o the observed agreement, p_e the agreement of two
raters drawing independently from their own category frequencies. Fleiss (1971): per unit,
P_i = (sum_j n_ij² − n_i) / (n_i (n_i − 1)); P̄ the mean of P_i, P_e = sum_j p_j² with p_j the share of
all ratings in category j. Units rated fewer than twice are left out; units may have different
numbers of raters (the usual generalisation: each unit's P_i uses its own n_i). Both are undefined
(None) when chance agreement is already perfect (p_e = 1) or nothing was rated.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def cohen_kappa(first: Sequence[int], second: Sequence[int], *, n_categories: int) -> float | None:
    """Cohen's kappa of two raters' categories (0..n_categories-1) on the same units, in the same order."""
    a, b = np.asarray(first, dtype=np.int64), np.asarray(second, dtype=np.int64)
    if a.size == 0:
        return None
    observed = float(np.mean(a == b))
    expected = float(np.dot(np.bincount(a, minlength=n_categories), np.bincount(b, minlength=n_categories))) / a.size**2
    if expected >= 1.0:
        return None
    return (observed - expected) / (1.0 - expected)


def fleiss_kappa(counts: np.ndarray) -> float | None:
    """Fleiss' kappa of a (units × categories) matrix of rating counts."""
    counts = np.asarray(counts, dtype=np.float64)
    raters = counts.sum(axis=1)
    counts, raters = counts[raters >= 2], raters[raters >= 2]
    if counts.shape[0] == 0:
        return None
    per_unit = ((counts**2).sum(axis=1) - raters) / (raters * (raters - 1))
    shares = counts.sum(axis=0) / counts.sum()
    expected = float((shares**2).sum())
    if expected >= 1.0:
        return None
    return (float(per_unit.mean()) - expected) / (1.0 - expected)
