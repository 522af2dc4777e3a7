"""Scaling-law fits of test errors: error ≈ C_seed·N^{−α} with one α shared by the draws.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

from rankcheck.validation import as_array, as_vector

__all__ = ["ScalingFit", "scaling_fit", "exponent_difference"]

@dataclass(frozen=True)
class ScalingFit:
    """A fitted scaling law error ≈ C_s·N^{−α}.

    Attributes
    ----------
    alpha : float
        The exponent α.
    stderr : float
        Its standard error.
    dof : int
        Residual degrees of freedom.
    band : (float, float)
        The Student-t band α ± t·se at the fit's level.
    """

    alpha: float
    stderr: float
    dof: int
    band: tuple[float, float]


def scaling_fit(n: ArrayLike, errors: ArrayLike, groups: ArrayLike, level: float = 0.9) -> ScalingFit:
    """Least squares of log(error) = c_group − α·log N: one exponent shared by the groups.

    One intercept per group (seeds, i.e. draws of the target), so the draws' different difficulty
    does not leak into α. The band is α ± t_{(1+level)/2, dof}·se with dof = points − groups − 1.

    Parameters
    ----------
    n : array_like, shape (k,)
    errors : array_like, shape (k,)
        > 0.
    groups : array_like, shape (k,)
    level : float, default 0.9

    Returns
    -------
    ScalingFit

    Raises
    ------
    ValueError
        Arrays of different lengths, non-positive values, fewer than two N or no residual degree
        of freedom.
    """
    sizes, values = as_vector(n, "n"), as_vector(errors, "errors")
    labels = np.asarray(as_array(groups))
    if not (sizes.size == values.size == labels.size):
        raise ValueError(f"n, errors and groups must have the same length, got {sizes.size}, "
                         f"{values.size} and {labels.size}")
    if np.any(sizes <= 0) or np.any(values <= 0):
        raise ValueError("n and errors must be > 0 (a log-log fit)")
    names, index = np.unique(labels, return_inverse=True)
    design = np.column_stack([-np.log(sizes), np.eye(names.size)[index]])
    dof = sizes.size - design.shape[1]
    if dof < 1 or np.unique(sizes).size < 2:
        raise ValueError(f"a scaling fit needs at least two N and more points than parameters, got "
                         f"{sizes.size} points for {design.shape[1]} parameters")
    coef, *_ = np.linalg.lstsq(design, np.log(values), rcond=None)
    residual = np.log(values) - design @ coef
    covariance = np.sum(residual**2) / dof * np.linalg.inv(design.T @ design)
    stderr = float(np.sqrt(covariance[0, 0]))
    half = float(stats.t.ppf((1 + level) / 2, dof)) * stderr
    return ScalingFit(alpha=float(coef[0]), stderr=stderr, dof=int(dof),
                      band=(float(coef[0]) - half, float(coef[0]) + half))


def exponent_difference(a: ScalingFit, b: ScalingFit, level: float = 0.9) -> tuple[float, float, float]:
    """α_a − α_b with its Student-t band.

    se = √(se_a² + se_b²) on min(dof_a, dof_b) degrees of freedom, as if the fits were independent:
    two learners on the same draws make their errors positively correlated, so this overstates the
    spread — a conservative band.

    Parameters
    ----------
    a, b : ScalingFit
    level : float, default 0.9

    Returns
    -------
    (difference, low, high) : tuple of float
    """
    gap = a.alpha - b.alpha
    half = float(stats.t.ppf((1 + level) / 2, min(a.dof, b.dof))) * float(np.hypot(a.stderr, b.stderr))
    return gap, gap - half, gap + half
