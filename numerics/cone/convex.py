"""The exact global optimum of a shallow ReLU network: the Pilanci–Ergen convex program.

Source: Pilanci & Ergen, "Neural networks are convex regularizers", ICML 2020, arXiv 2002.10553:
over the activation patterns of the data, weight-decayed two-layer ReLU training is a group-lasso
convex program (solved here by cvxpy), certified by a dual point.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import cvxpy as cp
import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import nnls

from rankcheck.errors import NotConvergedError
from rankcheck.numerics.cone.caratheodory import conic_caratheodory
from rankcheck.numerics.networks import MODULES, mlp, regularized_loss  # noqa: F401  (re-exported)
from rankcheck.validation import as_matrix, as_seed, as_vector, nonnegative_float, positive_int

__all__ = ["MAX_CANDIDATES", "activation_patterns", "ConvexOptimum", "shallow_convex_optimum"]

def _general_position(points: NDArray) -> bool:
    """Every d rows of ``points`` (N, d) linearly independent (checked by determinants)."""
    n, d = points.shape
    if n < d:
        return bool(np.linalg.matrix_rank(points) == n)
    subsets = (points[list(rows)] for rows in itertools.combinations(range(n), d))
    return all(abs(np.linalg.det(S)) > 1e-9 * np.prod(np.linalg.norm(S, axis=1)) for S in subsets)


MAX_CANDIDATES = 10**6  # default budget of the exact enumeration: C(N, d − 1)·2^d candidate patterns


def activation_patterns(points: ArrayLike, *, samples: int | None = None, seed: int = 0,
                        max_candidates: int = MAX_CANDIDATES) -> tuple[NDArray[np.bool_], str]:
    """The ReLU activation patterns 1[X u >= 0] of the rows of X over all directions u.

    Exact (``samples=None``, for points in general position): every region of the central
    arrangement {u : x_iᵀu = 0} touches a ray where d − 1 of the hyperplanes meet; each such ray ±u
    and each sign choice on its d − 1 points gives one pattern. Sampled (``samples=n``): the patterns
    of n Gaussian directions, a subset (the convex program then gives an upper bound). The all-zero
    pattern (a dead neuron) is dropped.

    Parameters
    ----------
    points : array_like, shape (N, d)
    samples : int, optional
        Sample this many directions instead of enumerating.
    seed : int, default 0
        Seed of the sampled directions.
    max_candidates : int, default MAX_CANDIDATES (10⁶)
        The exact enumeration visits C(N, d − 1)·2^d candidate patterns (about 5·10⁸ for N = 40,
        d = 7); above this budget it is refused up front, naming the size, instead of running for
        hours.

    Returns
    -------
    patterns : ndarray of bool, shape (P, N)
    mode : {"exact", "sampled"}

    Raises
    ------
    ValueError
        When exact enumeration is asked for points not in general position (every d of them
        independent), or would exceed ``max_candidates``.
    """
    X = as_matrix(points, "points")
    n, d = X.shape
    max_candidates = positive_int(max_candidates, "max_candidates")
    candidates = math.comb(n, d - 1) * 2**d if n >= d > 1 else 2 ** min(n, 64)
    if samples is None and candidates > max_candidates:
        raise ValueError(f"points: exact enumeration of the activation patterns of {n} points in "
                         f"dimension {d} visits about {candidates:.3g} candidates, over "
                         f"max_candidates={max_candidates}; pass samples=n to sample patterns (an upper "
                         f"bound on the optimum) or raise max_candidates")
    if samples is not None:
        u = np.random.default_rng(as_seed(seed)).normal(size=(d, positive_int(samples, "samples")))
        found = (X @ u >= 0).T
        mode = "sampled"
    else:
        if not _general_position(X):
            raise ValueError("points must be in general position (every d of them independent) for "
                             "the exact enumeration; pass samples=n to sample patterns instead")
        found = [X[:, 0] >= 0, X[:, 0] <= 0] if d == 1 else []
        if n < d:  # independent rows: X u takes every sign vector
            found = list(itertools.product((False, True), repeat=n))
        for rows in itertools.combinations(range(n), d - 1) if n >= d > 1 else ():
            ray = np.linalg.svd(X[list(rows)], full_matrices=True)[2][-1]  # ⟂ to the d − 1 points
            base = X @ ray > 0
            for signs in itertools.product((False, True), repeat=d - 1):
                for direction in (base, ~base):
                    pattern = direction.copy()
                    pattern[list(rows)] = signs
                    found.append(pattern)
        mode = "exact"
    unique = np.unique(np.asarray(found, dtype=bool), axis=0)
    return unique[unique.any(axis=1)], mode


@dataclass(frozen=True)
class ConvexOptimum:
    """Outcome of ``shallow_convex_optimum``.

    Attributes
    ----------
    value : float
        The convex program's optimum (the network loss of its solution, recomputed in numpy).
    lower_bound : float
        A certified lower bound from a dual-feasible point (Lagrange dual of the program).
    a : ndarray, shape (k,)
    W : ndarray, shape (k, d)
    b : ndarray, shape (k,)
        The optimal network f(x) = Σ_i a_i·relu(w_iᵀx + b_i), k <= N + 1 neurons, balanced.
    status : str
        The solver's status.
    patterns : int
        How many activation patterns the program used.
    mode : {"exact", "sampled"}
        Exact: ``value`` is the global minimum; sampled: an upper bound on it.
    violation : float
        The largest violation of the pattern constraints by the solver's solution.
    """

    value: float
    lower_bound: float
    a: NDArray[np.float64]
    W: NDArray[np.float64]
    b: NDArray[np.float64]
    status: str
    patterns: int
    mode: str
    violation: float

    @property
    def gap(self) -> float:
        """The duality gap (value − lower_bound) / value.

        Returns
        -------
        float
        """
        return (self.value - self.lower_bound) / max(abs(self.value), np.finfo(float).tiny)


def _dual_bound(Xa: NDArray, y: NDArray, patterns: NDArray, residual: NDArray, lam: float) -> float:
    """A lower bound on the convex program from z = 2r/N (r the residual of its solution).

    Lagrange dual of min (1/N)‖r‖² + 2λΣ(‖v_i‖ + ‖u_i‖), r = Σ D_iX(v_i − u_i) − y, (2D_i − I)Xv_i ≥ 0,
    (2D_i − I)Xu_i ≥ 0: g(z, μ, ν) = −(N/4)‖z‖² − zᵀy whenever ‖Xᵀ(±D_i z − (2D_i − I)μ)‖ ≤ 2λ with
    μ ≥ 0 for every pattern. The best μ for each pattern and sign is a non-negative least squares;
    z is scaled down until every constraint holds, which keeps it dual feasible."""
    n = y.size
    z = 2.0 * residual / n
    worst = 0.0
    for pattern in patterns:
        signs = np.where(pattern, 1.0, -1.0)
        M = Xa.T * signs  # Xᵀ(2D − I), (d, N)
        for sign in (1.0, -1.0):
            _, norm = nnls(M, sign * Xa.T @ (pattern * z))
            worst = max(worst, norm)
    z = z * min(1.0, 2.0 * lam / worst) if worst > 0 else z
    return float(-n / 4.0 * z @ z - z @ y)


def shallow_convex_optimum(X: ArrayLike, y: ArrayLike, lam: float, *, bias: bool = True,
                           samples: int | None = None, seed: int = 0, solver: str = "CLARABEL",
                           tol: float = 1e-10, max_candidates: int = MAX_CANDIDATES) -> ConvexOptimum:
    """The exact global minimum of weight-decayed training of one-hidden-layer ReLU networks.

    L(θ) = (1/N)‖f(X) − y‖² + λ‖θ‖² over f(x) = Σ_i a_i·relu(w_iᵀx + b_i) of any width (biases
    regularized, no output bias). Pilanci–Ergen (arXiv 2002.10553): with X̃ = [X, 1] and the
    activation patterns D_i of X̃, the convex program

        min (1/N)‖Σ_i D_i X̃ (v_i − u_i) − y‖² + 2λ Σ_i (‖v_i‖ + ‖u_i‖),
        (2D_i − I) X̃ v_i >= 0, (2D_i − I) X̃ u_i >= 0,

    has the same optimal value (λ‖θ‖² of a balanced neuron is 2λ|a|‖w‖ = 2λ‖v‖). Neurons with
    ‖v_i‖ > 0 become (a = ±√‖v‖, w = v/√‖v‖) and are Carathéodory-reduced to at most N + 1.

    Parameters
    ----------
    X : array_like, shape (N, d)
    y : array_like, shape (N,)
    lam : float
        λ > 0.
    bias : bool, default True
    samples : int, optional
        Sample this many directions for the patterns instead of enumerating them exactly (points
        in general position).
    seed : int, default 0
    solver : str, default "CLARABEL"
        A cvxpy solver name.
    tol : float, default 1e-10
        The solver's tolerance.
    max_candidates : int, default MAX_CANDIDATES (10⁶)
        The budget of the exact enumeration (``activation_patterns``).

    Returns
    -------
    ConvexOptimum

    Raises
    ------
    ValueError
        Naming the argument: non-finite or mismatched X and y, λ <= 0, points not in general
        position for exact enumeration, an enumeration over ``max_candidates``.
    NotConvergedError
        When the solver's status is not optimal.
    """
    points, targets = as_matrix(X, "X"), as_vector(y, "y")
    if points.shape[0] != targets.size:
        raise ValueError(f"X has {points.shape[0]} rows but y has {targets.size} entries")
    lam = nonnegative_float(lam, "lam", positive=True)
    Xa = np.hstack([points, np.ones((points.shape[0], 1))]) if bias else points
    patterns, mode = activation_patterns(Xa, samples=samples, seed=seed, max_candidates=max_candidates)
    P, (n, d) = len(patterns), Xa.shape
    V, U = cp.Variable((d, P)), cp.Variable((d, P))
    masks = patterns.astype(float)
    outputs = cp.sum(cp.multiply(masks.T, Xa @ (V - U)), axis=1)
    signs = (2 * masks - 1).T  # (N, P)
    constraints = [cp.multiply(signs, Xa @ V) >= 0, cp.multiply(signs, Xa @ U) >= 0]
    objective = cp.sum_squares(outputs - targets) / n + 2 * lam * (cp.sum(cp.norm(V, 2, axis=0))
                                                                  + cp.sum(cp.norm(U, 2, axis=0)))
    problem = cp.Problem(cp.Minimize(objective), constraints)
    options = {"tol_gap_abs": tol, "tol_gap_rel": tol, "tol_feas": tol} if solver == "CLARABEL" else {}
    problem.solve(solver=solver, **options)
    if problem.status != cp.OPTIMAL:
        raise NotConvergedError(f"shallow_convex_optimum: solver {solver} returned status {problem.status!r}")
    v, u = np.asarray(V.value), np.asarray(U.value)
    violation = float(max(0.0, -np.min(signs * (Xa @ v)), -np.min(signs * (Xa @ u))))
    directions = np.hstack([v, u]).T  # (2P, d)
    sign = np.concatenate([np.ones(P), -np.ones(P)])
    norms = np.linalg.norm(directions, axis=1)
    alive = norms > 0
    a = sign[alive] * np.sqrt(norms[alive])
    Wb = directions[alive] / np.sqrt(norms[alive])[:, None]
    outputs_each = np.maximum(Xa @ Wb.T, 0.0) * a  # (N, m): each neuron's contribution
    gens = np.vstack([outputs_each, (np.abs(a) * np.linalg.norm(Wb, axis=1))[None, :]])
    c = conic_caratheodory(gens, np.ones(a.size))
    keep = c > 0
    a, Wb = a[keep] * np.sqrt(c[keep]), Wb[keep] * np.sqrt(c[keep])[:, None]
    predictions = np.maximum(Xa @ Wb.T, 0.0) @ a
    value = float(np.mean((predictions - targets) ** 2) + lam * (np.sum(a**2) + np.sum(Wb**2)))
    lower = _dual_bound(Xa, targets, patterns, predictions - targets, lam)
    W, b = (Wb[:, :-1], Wb[:, -1]) if bias else (Wb, np.zeros(a.size))
    return ConvexOptimum(value=value, lower_bound=lower, a=a, W=W, b=b, status=str(problem.status),
                         patterns=P, mode=mode, violation=violation)
