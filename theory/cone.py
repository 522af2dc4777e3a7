"""The covariance reformulation of L2-regularized networks, derived with sympy.

Source: Jacot, Golikov, Hongler, Gabriel, arXiv 2205.15809. Notation: Z (n_in, N)
the activations entering a linear layer, Z̃ (n_out, N) its pre-activations, one column per training
point; K = ZᵀZ, K̃ = Z̃ᵀZ̃. Loss convention (as in ``numerics.cone``): (1/N)‖Ŷ − Y‖_F² +
λ‖θ‖².

Derived here:
- ``least_norm_identity``: min ‖W‖_F² subject to W Z = Z̃ equals Tr[Z̃ᵀZ̃ (ZᵀZ)⁺] (Lagrange
  conditions solved by sympy; a generic full-column-rank Z and a rank-one Z with the row-space
  condition).
- ``attraction_repulsion``: as a function of one hidden layer, the loss is an attracting convex
  quadratic λ·Tr[Z̃ K_prev⁺ Z̃ᵀ] (its own cost, least at Z̃ = 0) plus a repelling λ·Tr[K̃_next K⁻¹]
  (the next layer's cost, decreasing in K and infinite when two points' activations align); their
  gradients and the blow-up for two points, by sympy.
- ``one_point_cost``: for one point the covariance form reduces to r²/‖x‖² + y²/r², least value
  2|y|/‖x‖.
- The N²/4 example (``tight_target``, ``tight_cost``, ``tight_regularized_bound``): the target
  A = EᵀE of the complete bipartite graph, its least interpolation cost 2·Tr A = N², and the
  closed-form lower bound min_Ŷ (1/N)‖Ŷ − A‖² + 2λ‖Ŷ‖_* = λN² − N(N−1)λ² on the regularized loss
  of every depth-2 ReLU network without biases.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import numpy as np
import sympy as sp

from rankcheck.theory._symbolic import symbol_matrix
from rankcheck.validation import nonnegative_float, positive_int

__all__ = [
    "lam", "least_norm_by_lagrange", "least_norm_identity", "attraction_repulsion", "one_point_cost",
    "tight_target", "tight_spectrum", "tight_cost", "tight_regularized_bound", "tight_bound_function",
    "least_norm_cost", "pair_space_dimension", "caratheodory_width"
]

lam = sp.Symbol("lambda", positive=True)
r, x_norm, y = sp.symbols("r x_norm y", positive=True)


@cache
def pair_space_dimension() -> sp.Expr:
    """The dimension of the space of pairs (K̃, K) of symmetric N × N matrices, in the symbol N.

    A symmetric matrix has one free entry per pair i <= j: Σ_{i=1}^{N} Σ_{j=i}^{N} 1 = N(N + 1)/2,
    and a pair has twice that. The covariance cone cone{(zzᵀ, σ(z)σ(z)ᵀ)} lives in this space.

    Returns
    -------
    sympy.Expr
        N(N + 1), in the positive integer symbol ``N``.
    """
    n, i, j = sp.symbols("N i j", positive=True, integer=True)
    return sp.factor(2 * sp.summation(sp.summation(1, (j, i, n)), (i, 1, n)))


def caratheodory_width(n_points: int) -> int:
    """The Carathéodory bound on the neurons a hidden layer needs: ``pair_space_dimension`` at N.

    Carathéodory's theorem for cones: a point of a convex cone in ℝ^D is a non-negative combination
    of at most D of its generators, so any (K̃, K) reached by a layer is reached with at most
    N(N + 1) neurons (Jacot, Golikov, Hongler, Gabriel, arXiv 2205.15809).

    Parameters
    ----------
    n_points : int
        N >= 1.

    Returns
    -------
    int
    """
    n_points = positive_int(n_points, "n_points")
    return int(pair_space_dimension().subs(sp.Symbol("N", positive=True, integer=True), n_points))


def least_norm_by_lagrange(Z: sp.Matrix, Zt: sp.Matrix) -> sp.Expr:
    """min ‖W‖_F² subject to W Z = Z̃, from the Lagrange conditions solved by sympy.

    2W = Λ Zᵀ, W Z = Z̃, solved for the entries of W and Λ (the multipliers may stay free when Z is
    rank-deficient).

    Parameters
    ----------
    Z : sympy.Matrix, shape (n_in, N)
    Zt : sympy.Matrix, shape (n_out, N)

    Returns
    -------
    sympy.Expr

    Raises
    ------
    ValueError
        When the Lagrange conditions have no unique solution for W.
    """
    W = symbol_matrix("w", Zt.rows, Z.rows)
    multipliers = symbol_matrix("m", Zt.rows, Z.cols)
    equations = list(2 * W - multipliers * Z.T) + list(W * Z - Zt)
    solution = sp.solve(equations, list(W) + list(multipliers), dict=True)
    if len(solution) != 1:
        raise ValueError("the Lagrange conditions have no unique solution: the row space condition "
                         "(rows of Z̃ in the row space of Z) fails")
    return sp.simplify(sum(w**2 for w in W.subs(solution[0])))


def least_norm_identity(n_in: int = 3, n_points: int = 2, n_out: int = 2) -> dict[str, sp.Expr]:
    """Both cases of the identity min ‖W‖² = Tr[Z̃ᵀZ̃ (ZᵀZ)⁺], as simplified differences (each 0).

    ``generic``: symbolic Z (n_in, N) with n_in >= N (ZᵀZ invertible) and symbolic Z̃ (n_out, N).
    ``rank_one``: Z = u vᵀ and Z̃ = a vᵀ (row space condition), the pseudo-inverse in closed form
    (c·v vᵀ)⁺ = v vᵀ/(c‖v‖⁴).

    Parameters
    ----------
    n_in : int, default 3
    n_points : int, default 2
    n_out : int, default 2

    Returns
    -------
    dict of str to sympy.Expr

    Raises
    ------
    ValueError
        When n_in < n_points.
    """
    n_in, n_points, n_out = (positive_int(v, k) for v, k in
                             ((n_in, "n_in"), (n_points, "n_points"), (n_out, "n_out")))
    if n_in < n_points:
        raise ValueError(f"n_in must be >= n_points for an invertible ZᵀZ, got {n_in} < {n_points}")
    Z, Zt = symbol_matrix("z", n_in, n_points), symbol_matrix("t", n_out, n_points)
    generic = least_norm_by_lagrange(Z, Zt) - (Zt.T * Zt * (Z.T * Z).inv()).trace()
    u, v, a = symbol_matrix("u", 2, 1), symbol_matrix("v", 2, 1), symbol_matrix("a", n_out, 1)
    gram = (u.T * u)[0]
    vv = (v.T * v)[0]
    pinv = v * v.T / (gram * vv**2)  # (ZᵀZ)⁺ for ZᵀZ = gram·v vᵀ
    rank_one = least_norm_by_lagrange(u * v.T, a * v.T) - ((a * v.T).T * (a * v.T) * pinv).trace()
    return {"generic": sp.simplify(sp.together(generic)), "rank_one": sp.simplify(rank_one)}


def attraction_repulsion(width: int = 2, n_points: int = 2) -> dict[str, sp.Expr]:
    """The two parts of the loss in one hidden layer's activations and facts about them.

    ``attraction_gradient``: ∂/∂Z̃ Tr[Z̃ M Z̃ᵀ] − 2 Z̃ M for symmetric M (= K_prev⁺), entrywise;
    ``repulsion_gradient``: ∂/∂Z Tr[A (ZᵀZ)⁻¹] + 2 Z K⁻¹ A K⁻¹ for symmetric A (= K̃_next); and, for
    two points z₁, z₂: ``two_point_blowup``, Tr[A K⁻¹]·det K minus a polynomial that stays positive
    as det K = ‖z₁‖²‖z₂‖² − (z₁·z₂)² → 0 (so the repulsion is infinite at alignment).

    Parameters
    ----------
    width : int, default 2
    n_points : int, default 2

    Returns
    -------
    dict of str to sympy.Expr or sympy.Matrix
    """
    width, n_points = positive_int(width, "width"), positive_int(n_points, "n_points")
    Zt, Z = symbol_matrix("t", width, n_points), symbol_matrix("z", width, n_points)
    M = symbol_matrix("M", n_points, n_points, symmetric=True)
    A = symbol_matrix("A", n_points, n_points, symmetric=True)
    attraction = (Zt * M * Zt.T).trace()
    gradient = sp.Matrix(width, n_points, lambda i, j: sp.diff(attraction, Zt[i, j]))
    K = Z.T * Z
    repulsion = (A * K.inv()).trace()
    rep_grad = sp.Matrix(width, n_points, lambda i, j: sp.diff(repulsion, Z[i, j]))
    predicted = -2 * Z * K.inv() * A * K.inv()
    out = {
        "attraction_gradient": sp.simplify(gradient - 2 * Zt * M),
        "repulsion_gradient": sp.simplify(sp.together(rep_grad - predicted)),
    }
    if n_points == 2:
        numerator = A[0, 0] * K[1, 1] - 2 * A[0, 1] * K[0, 1] + A[1, 1] * K[0, 0]
        out["two_point_blowup"] = sp.simplify(repulsion * K.det() - numerator)
    return out


def one_point_cost() -> tuple[sp.Expr, sp.Expr]:
    """The shallow one-point cost from the covariance form: with one point x, hidden pre-activations
    z̃ ∈ ℝ^w, K_0 = ‖x‖², K̃_1 = ‖z̃‖², K_1 = ‖σ(z̃)‖² and K̃_2 = y², the cost
    ‖z̃‖²/‖x‖² + y²/‖σ(z̃)‖² is least for z̃ ≥ 0 (‖σ(z̃)‖ = ‖z̃‖ = r), where it is r²/‖x‖² + y²/r².
    Returns (the minimizing r², the least cost), the latter 2|y|/‖x‖.

    Returns
    -------
    tuple of two sympy.Expr
    """
    cost = r**2 / x_norm**2 + y**2 / r**2
    critical = [s for s in sp.solve(sp.diff(cost, r), r) if s.is_positive]
    return sp.simplify(critical[0] ** 2), sp.simplify(cost.subs(r, critical[0]))


def tight_target(n_points: int) -> np.ndarray:
    """A = EᵀE for the complete bipartite graph on two halves of N/2 points (E: edge–vertex incidence).

    (N/2)·I on the diagonal, 1 between halves, 0 within.

    Parameters
    ----------
    n_points : int
        N, even.

    Returns
    -------
    ndarray, shape (N, N)

    Raises
    ------
    ValueError
        When N is odd.
    """
    n = positive_int(n_points, "n_points", minimum=2)
    if n % 2:
        raise ValueError(f"n_points must be even, got {n}")
    half = n // 2
    A = np.zeros((n, n))
    A[:half, half:] = A[half:, :half] = 1.0
    return A + half * np.eye(n)


def tight_spectrum(n_points: int) -> dict[sp.Expr, int]:
    """Eigenvalues of ``tight_target`` with multiplicities, by sympy: N once, N/2 (N − 2 times), 0 once.

    Parameters
    ----------
    n_points : int
        N, even.

    Returns
    -------
    dict of sympy.Expr to int
    """
    return sp.Matrix(tight_target(n_points).astype(int)).eigenvals()


def tight_cost(n_points: int) -> sp.Expr:
    """The least ‖θ‖² of a depth-2 ReLU network without biases mapping X = I to Y = A: 2·Tr A = N².

    Tr K̃ >= Tr K neuron by neuron, Tr K + Tr[A² K⁺] >= 2·Tr A with equality at K = A.

    Parameters
    ----------
    n_points : int
        N, even.

    Returns
    -------
    sympy.Expr
    """
    return 2 * sum(value * mult for value, mult in tight_spectrum(n_points).items())


def _soft_threshold_value() -> sp.Expr:
    """min over t ≥ 0 of (1/N)(t − s)² + 2λt for s ≥ Nλ (attained at t = s − Nλ)."""
    t, s, n = sp.symbols("t s N", positive=True)
    objective = (t - s) ** 2 / n + 2 * lam * t
    best = sp.solve(sp.diff(objective, t), t)[0]
    return sp.expand(objective.subs(t, best))


def tight_regularized_bound(n_points: int) -> sp.Expr:
    """A lower bound on the regularized loss of every depth-2 bias-free ReLU network on (I, A).

    min over Ŷ of (1/N)‖Ŷ − A‖_F² + 2λ‖Ŷ‖_* (singular value soft-thresholding at Nλ, valid for
    λ <= 1/2), since ‖θ‖² >= 2‖Ŷ‖_*. Equals λN² − N(N−1)λ².

    Parameters
    ----------
    n_points : int
        N, even.

    Returns
    -------
    sympy.Expr
        In the symbol lam.
    """
    value = _soft_threshold_value()
    s, n = sp.Symbol("s", positive=True), sp.Symbol("N", positive=True)
    total = sum(mult * value.subs({s: eig, n: n_points})
                for eig, mult in tight_spectrum(n_points).items() if eig != 0)
    return sp.expand(total)


def tight_bound_function(n_points: int) -> Callable[[float], float]:
    """λ ↦ the lower bound of ``tight_regularized_bound``, as a float function.

    Parameters
    ----------
    n_points : int
        N, even.

    Returns
    -------
    callable float -> float
        Raises ``ValueError`` for λ > 1/2 (the soft threshold passes the eigenvalue N/2).
    """
    bound = sp.lambdify(lam, tight_regularized_bound(n_points), "math")

    def evaluate(value: float) -> float:
        value = nonnegative_float(value, "lam", positive=True)
        if value > 0.5:
            raise ValueError(f"lam must be <= 1/2 (soft threshold below the eigenvalue N/2), got {value}")
        return float(bound(value))

    return evaluate


def least_norm_cost(pre: list, inputs: list) -> float:
    """Σ_ℓ Tr[K̃_ℓ K_{ℓ−1}⁺], the least ‖θ‖² with these activations (``least_norm_identity``).

    With Z = U S Vᵀ (rank r), (ZᵀZ)⁺ = V S⁻² Vᵀ, so Tr[Z̃ᵀZ̃ (ZᵀZ)⁺] = ‖Z̃ V S⁻¹‖_F². Working with Z
    rather than K = ZᵀZ resolves singular values down to ε·s₁ instead of √ε·s₁ — trained networks
    have activations with singular values 1e-7 of the largest, which K cannot resolve. The rank is
    cut at max(n_in, N)·ε·s₁.

    Parameters
    ----------
    pre : list of array_like, shapes (n_out, N)
        Z̃_ℓ.
    inputs : list of array_like, shapes (n_in, N)
        Z_{ℓ−1}, with the row of ones when the layer has a bias.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        Lists of different lengths, or matrices without one column per point.
    """
    if len(pre) != len(inputs) or not pre:
        raise ValueError(f"pre and inputs must be non-empty lists of equal length, got {len(pre)} "
                         f"and {len(inputs)}")
    total = 0.0
    for k, (target, source) in enumerate(zip(pre, inputs, strict=True)):
        target, source = np.asarray(target, dtype=float), np.asarray(source, dtype=float)
        if target.ndim != 2 or source.ndim != 2 or target.shape[1] != source.shape[1]:
            raise ValueError(f"pre[{k}] and inputs[{k}] must be matrices with one column per point, got "
                             f"shapes {target.shape} and {source.shape}")
        _, s, Vt = np.linalg.svd(source, full_matrices=False)
        keep = s > max(source.shape) * np.finfo(float).eps * s[0] if s.size and s[0] > 0 else s < 0
        total += float(np.sum((target @ Vt[keep].T / s[keep]) ** 2))
    return total
