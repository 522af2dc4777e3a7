"""Deep linear networks: what the representation-cost theorems predict.

Source: Jacot, Ged, Şimşek, Hongler, Gabriel, "Saddle-to-saddle dynamics in deep linear networks",
arXiv 2106.15933.

A depth-L linear network computes A_θ = W_L ⋯ W_1 and its representation cost is
R(A; L) = min{Σ_ℓ ‖W_ℓ‖_F² : W_L ⋯ W_1 = A}. Every quantity below is derived with sympy from the
scalar problem of one singular value s (the matrix statement follows from it by a Hölder inequality
for singular values, which we do not re-derive) and exposed both as an expression and as a numeric
function.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import numpy as np
import sympy as sp
from numpy.typing import ArrayLike, NDArray

from rankcheck.validation import as_matrix, as_vector, nonnegative_float, positive_int

__all__ = [
    "a", "u", "L", "lam", "r", "x", "i", "sv", "power_sum", "balanced_factor",
    "scalar_representation_cost", "representation_cost_expr", "nonzero_singular_values",
    "representation_cost", "representation_cost_fn", "depth_expansion", "depth_expansion_coefficients",
    "depth_expansion_coefficients_fn", "rank_limit_per_singular_value", "rank_gap_leading_term",
    "rank_limit", "scalar_regularized_objective", "local_threshold_expr", "global_threshold_expr",
    "stationarity_polynomial", "regularized_stationary_points", "regularized_local_minima",
    "regularized_singular_values", "regularized_singular_values_fn", "regularized_minima",
    "regularized_curvature", "nearest_local_minima"
]

s, y = sp.symbols("s y", positive=True)
a = sp.Symbol("a", positive=True)
u = sp.Symbol("u", positive=True)
L = sp.Symbol("L", positive=True, integer=True)
lam = sp.Symbol("lambda", positive=True)
r = sp.Symbol("r", positive=True, integer=True)
x = sp.Symbol("x", real=True)
i = sp.Idx("i")
sv = sp.IndexedBase("s", positive=True)


def power_sum(k: int) -> sp.Symbol:
    """The symbol p_k standing for Σ_i (log s_i)^k over the non-zero singular values (p_0 = rank).

    Parameters
    ----------
    k : int

    Returns
    -------
    sympy.Symbol
        Named ``p{k}``, real.
    """
    return sp.Symbol(f"p{k}", real=True)


# --------------------------------------------------------------------------- representation cost
@cache
def balanced_factor() -> sp.Expr:
    """The optimal factor a = s^{1/L} of one singular value s split over L scalar layers.

    With L − 1 layers equal to a and the last equal to s / a^{L−1}, the cost is
    g(a) = (L − 1)·a² + s²·a^{−2(L−1)}; g'(a) = 0 has the single positive root a = s^{1/L}
    (AM–GM: the product is fixed, so the sum of squares is least when all factors are equal).

    Returns
    -------
    sympy.Expr
    """
    g = (L - 1) * a**2 + s**2 * a ** (-2 * (L - 1))
    (root,) = sp.solve(sp.diff(g, a), a)
    return root


@cache
def scalar_representation_cost() -> sp.Expr:
    """R(s; L) = L·s^{2/L}: least Σ a_ℓ² with Π a_ℓ = s, evaluated at the balanced factor.

    Returns
    -------
    sympy.Expr
    """
    g = (L - 1) * a**2 + s**2 * a ** (-2 * (L - 1))
    return sp.simplify(g.subs(a, balanced_factor()))


def representation_cost_expr() -> sp.Expr:
    """R(A; L) = L·Σ_{i=1}^{r} s_i^{2/L} = L·‖A‖_{S_{2/L}}^{2/L}, r = rank A (widths ≥ r).

    Returned as ``L*Sum(s[i]**(2/L), (i, 1, r))``; the summand is ``scalar_representation_cost``.

    Returns
    -------
    sympy.Expr
    """
    summand = scalar_representation_cost().subs(s, sv[i]) / L
    return L * sp.Sum(summand, (i, 1, r))


def nonzero_singular_values(A: ArrayLike) -> NDArray[np.float64]:
    """Singular values of A above numpy's rank tolerance max(m, n)·eps·s_max.

    Dropping round-off singular values matters here: s^{2/L} of s = 1e-16 is 2e-6 at L = 6.

    Parameters
    ----------
    A : array_like, shape (m, n)

    Returns
    -------
    ndarray, shape (rank,)

    Raises
    ------
    ValueError
        When A is not a finite non-empty matrix.
    """
    matrix = as_matrix(A, "A")
    values = np.linalg.svd(matrix, compute_uv=False)
    if values[0] == 0.0:
        return values[:0]
    tol = max(matrix.shape) * np.finfo(np.float64).eps * values[0]
    return values[values > tol]


@cache
def _scalar_cost_numeric() -> Callable[..., NDArray[np.float64]]:
    return sp.lambdify((s, L), scalar_representation_cost(), "numpy")


def representation_cost(A: ArrayLike, depth: int) -> float:
    """The predicted representation cost R(A; L) = L·Σ s_i(A)^{2/L} (lambdified from the sympy
    derivation ``representation_cost_expr``; Jacot et al., arXiv 2106.15933).

    Parameters
    ----------
    A : array_like, shape (m, n)
    depth : int
        L >= 1.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        Naming the argument: a non-finite A, ``depth`` < 1.
    """
    depth = positive_int(depth, "depth")
    values = nonzero_singular_values(A)
    return float(np.sum(_scalar_cost_numeric()(values, depth)))


def representation_cost_fn() -> Callable[[ArrayLike, int], float]:
    """The prediction ``representation_cost`` as a function for the claim registry.

    Returns
    -------
    callable (A, depth) -> float
    """
    return representation_cost


# --------------------------------------------------------------------------- large-depth expansion
@cache
def depth_expansion(order: int) -> sp.Expr:
    """R(A; L) = Σ_{k=0}^{order} (2^k/k!)·p_k·L^{1−k} + O(L^{−order}), p_k = Σ_i (log s_i)^k.

    Derived as the series in ε = 1/L of L·e^{(2/L)·log s} for one singular value, then summed over
    the non-zero singular values: the k-th power of log s_i sums to the power sum p_k. The first terms
    are L·rank A + 2·log|A|₊ + (2/L)·Σ_i log² s_i.

    Parameters
    ----------
    order : int
        >= 0.

    Returns
    -------
    sympy.Expr
        In L and the power sums p_0 … p_order.
    """
    order = positive_int(order, "order", minimum=0)
    eps = sp.Symbol("epsilon", positive=True)
    series = sp.series(sp.exp(2 * x * eps) / eps, eps, 0, order).removeO()
    poly = sp.Poly(sp.expand(series * eps), eps)  # Σ_k c_k x^k ε^k
    total = sp.Integer(0)
    for (k,), coeff in poly.terms():
        c_k = sp.Poly(coeff, x).coeff_monomial(x**k)
        total += c_k * power_sum(k) * L ** (1 - k)
    return total


def depth_expansion_coefficients(order: int) -> list[sp.Expr]:
    """[R⁽⁰⁾, R⁽¹⁾, …, R⁽ᵒʳᵈᵉʳ⁾] in terms of the power sums: R⁽ᵏ⁾ is the coefficient of L^{1−k}.

    Parameters
    ----------
    order : int

    Returns
    -------
    list of sympy.Expr, length order + 1
    """
    expansion = sp.expand(depth_expansion(order))
    return [expansion.coeff(L, 1 - k) for k in range(order + 1)]


@cache
def _depth_expansion_numeric(order: int) -> Callable[..., list[float]]:
    symbols = [power_sum(k) for k in range(order + 1)]
    return sp.lambdify(symbols, depth_expansion_coefficients(order), "numpy")


def depth_expansion_coefficients_fn(order: int) -> Callable[[ArrayLike], NDArray[np.float64]]:
    """A function A -> the predicted coefficients R⁽⁰⁾(A) … R⁽ᵒʳᵈᵉʳ⁾(A).

    The sympy series is derived on the first call, not when the function is built.

    Parameters
    ----------
    order : int

    Returns
    -------
    callable
        array_like (m, n) -> ndarray (order + 1,).
    """
    order = positive_int(order, "order", minimum=0)

    def evaluate(A: ArrayLike) -> NDArray[np.float64]:
        logs = np.log(nonzero_singular_values(A))
        sums = [float(np.sum(logs**k)) for k in range(order + 1)]
        return np.asarray(_depth_expansion_numeric(order)(*sums), dtype=np.float64)

    return evaluate


# --------------------------------------------------------------------------- rank limit
@cache
def rank_limit_per_singular_value() -> sp.Expr:
    """lim_{L→∞} R(s; L)/L = lim s^{2/L} = 1 for every s > 0, so R(A; L)/L → rank A.

    Returns
    -------
    sympy.Expr
    """
    return sp.limit(scalar_representation_cost() / L, L, sp.oo)


@cache
def rank_gap_leading_term() -> sp.Expr:
    """R(A; L)/L − rank A = 2·log|A|₊ / L + O(L⁻²): the leading term from ``depth_expansion``.

    Returns
    -------
    sympy.Expr
    """
    gap = sp.expand(depth_expansion(2) / L - power_sum(0))
    return sp.limit(gap * L, L, sp.oo)


def rank_limit(A: ArrayLike) -> tuple[float, float]:
    """Predicted (lim R(A; L)/L, exponent of the gap R/L − lim in L) = (rank A, −1).

    The limit is ``rank_limit_per_singular_value`` summed over the non-zero singular values; the
    gap's L⁻¹ coefficient is ``rank_gap_leading_term`` = 2·log|A|₊, so the exponent is −1 unless
    log|A|₊ = 0, when the next term makes it −2.

    Parameters
    ----------
    A : array_like, shape (m, n)

    Returns
    -------
    (limit, exponent) : tuple of float
    """
    values = nonzero_singular_values(A)
    limit = float(rank_limit_per_singular_value()) * values.size
    leading = float(rank_gap_leading_term().subs(power_sum(1), float(np.sum(np.log(values)))))
    return limit, (-1.0 if leading != 0.0 else -2.0)


# --------------------------------------------------------------------------- regularized regression
def scalar_regularized_objective() -> sp.Expr:
    """f(s) = ½(s − y)² + λ·L·s^{2/L}: the per-singular-value problem of
    min_θ ½‖A_θ − A*‖² + λ‖θ‖² (y a singular value of A*).

    Returns
    -------
    sympy.Expr
    """
    return sp.Rational(1, 2) * (s - y) ** 2 + lam * scalar_representation_cost()


@cache
def local_threshold_expr() -> sp.Expr:
    """y_c(L, λ): for L ≥ 3 a non-zero local minimum of f exists iff y ≥ y_c.

    Stationarity f'(s) = 0 reads y = φ(s) = s + 2λ·s^{2/L−1}; y_c = min_s φ(s).
    For L = 3 this is 4·(2λ/3)^{3/4}.

    Returns
    -------
    sympy.Expr
    """
    phi = s + 2 * lam * s ** (2 / L - 1)
    (s_c,) = sp.solve(sp.diff(phi, s), s)
    return sp.simplify(phi.subs(s, s_c))


@cache
def global_threshold_expr() -> sp.Expr:
    """y*(L, λ): for L ≥ 2 the global minimizer of f is 0 for y < y* and non-zero for y > y*.

    On the stationary curve y = φ(s), f(s) − f(0) = λ(L − 2)s^{2/L} − s²/2, which vanishes at
    s* = (2λ(L − 2))^{L/(2L−2)}; y* = φ(s*). For L = 2 this gives y* = 2λ (soft thresholding).

    Returns
    -------
    sympy.Expr
    """
    phi = s + 2 * lam * s ** (2 / L - 1)
    gap = sp.expand(scalar_regularized_objective().subs(y, phi) - phi**2 / 2)
    (s_star,) = sp.solve(gap, s)
    return sp.simplify(phi.subs(s, s_star))


@cache
def stationarity_polynomial(depth: int) -> sp.Poly:
    """Polynomial in u = s^{1/L} whose positive roots are the non-zero stationary points of f.

    f'(s) = s − y + 2λ·s^{2/L−1}; with s = u^L and multiplied by u^{L−2} (L >= 2) it becomes
    u^{2L−2} − y·u^{L−2} + 2λ; for L = 1 it is (1 + 2λ)u − y.

    Parameters
    ----------
    depth : int
        L >= 1.

    Returns
    -------
    sympy.Poly
        In u, with symbolic y and λ.
    """
    depth = positive_int(depth, "depth")
    derivative = sp.diff(scalar_regularized_objective(), s).subs(L, depth).subs(s, u**depth)
    return sp.Poly(sp.expand(sp.powsimp(derivative * u ** max(depth - 2, 0))), u)


def regularized_stationary_points(target: float, depth: int, lam_value: float) -> NDArray[np.float64]:
    """The non-zero stationary points s of f(s) = ½(s − y)² + λ·L·s^{2/L} for one y, ascending.

    u^L over the positive real roots u of ``stationarity_polynomial``. For L >= 3 and y_c < y: two of
    them, the barrier (a local maximum) and the non-zero local minimum; none for y < y_c.

    Parameters
    ----------
    target : float
        y >= 0.
    depth : int
    lam_value : float
        λ >= 0.

    Returns
    -------
    ndarray, shape (k,), k in {0, 1, 2}
    """
    depth = positive_int(depth, "depth")
    poly = stationarity_polynomial(depth)
    coefficients = [float(c.subs({y: target, lam: lam_value})) for c in poly.all_coeffs()]
    roots = np.roots(coefficients)
    real = roots[(np.abs(roots.imag) <= 1e-9 * np.abs(roots)) & (roots.real > 0)].real
    return np.sort(real**depth)


def regularized_local_minima(
    target_singular_values: ArrayLike, depth: int, lam_value: float
) -> NDArray[np.float64]:
    """For each y the non-zero local minimum of f (the largest stationary point), 0 if there is none.

    A run that keeps mode i settles there; one that lost it has s_i = 0.

    Parameters
    ----------
    target_singular_values : array_like, shape (k,)
    depth : int
    lam_value : float

    Returns
    -------
    ndarray, shape (k,)
    """
    depth = positive_int(depth, "depth")
    lam_value = nonnegative_float(lam_value, "lam")
    targets = as_vector(target_singular_values, "target_singular_values", nonnegative=True)
    points = [regularized_stationary_points(t, depth, lam_value) for t in targets]
    return np.array([p[-1] if p.size else 0.0 for p in points])


def regularized_singular_values(
    target_singular_values: ArrayLike, depth: int, lam_value: float
) -> NDArray[np.float64]:
    """Predicted learned singular values: the global minimizer of f for each y.

    0 when y <= y* (``global_threshold_expr``; for L = 1 there is no threshold), otherwise the
    non-zero local minimum (``regularized_local_minima``).

    Parameters
    ----------
    target_singular_values : array_like, shape (k,)
    depth : int
    lam_value : float

    Returns
    -------
    ndarray, shape (k,)
    """
    depth = positive_int(depth, "depth")
    lam_value = nonnegative_float(lam_value, "lam")
    targets = as_vector(target_singular_values, "target_singular_values", nonnegative=True)
    threshold = (
        0.0
        if depth == 1 or lam_value == 0
        else float(global_threshold_expr().subs({L: depth, lam: lam_value}))
    )
    return np.where(targets > threshold, regularized_local_minima(targets, depth, lam_value), 0.0)


def regularized_singular_values_fn() -> Callable[[ArrayLike, int, float], NDArray[np.float64]]:
    """The prediction ``regularized_singular_values`` as a function for the claim registry.

    Returns
    -------
    callable (targets, depth, lam) -> ndarray
    """
    return regularized_singular_values


def regularized_minima(target_singular_values: ArrayLike, depth: int, lam_value: float,
                       minimum: str = "global") -> NDArray[np.float64]:
    """``regularized_singular_values`` or ``regularized_local_minima``: the one place that chooses
    between them for the other families.

    Parameters
    ----------
    target_singular_values : array_like, shape (k,)
    depth : int
    lam_value : float
    minimum : {"global", "local"}, default "global"

    Returns
    -------
    ndarray, shape (k,)

    Raises
    ------
    ValueError
        For another ``minimum``.
    """
    solvers = {"global": regularized_singular_values, "local": regularized_local_minima}
    if minimum not in solvers:
        raise ValueError(f"minimum must be 'global' or 'local', got {minimum!r}")
    return solvers[minimum](target_singular_values, depth, lam_value)


@cache
def _curvature_numeric() -> Callable[..., NDArray[np.float64]]:
    return sp.lambdify((s, L, lam), sp.diff(scalar_regularized_objective(), s, 2), "numpy")


def regularized_curvature(values: ArrayLike, depth: int, lam_value: float) -> NDArray[np.float64]:
    """f''(s) for f(s) = ½(s − y)² + λ·L·s^{2/L} (sympy's second derivative, lambdified), at each s > 0.

    How flat the problem is at a minimum, so how far a stationarity residual ε moves s (by ε/f'').

    Parameters
    ----------
    values : array_like
        s > 0.
    depth : int
    lam_value : float

    Returns
    -------
    ndarray, the shape of ``values``
    """
    depth = positive_int(depth, "depth")
    points = as_vector(values, "values", nonnegative=True)
    curvature = _curvature_numeric()(points, depth, nonnegative_float(lam_value, "lam"))
    return np.broadcast_to(curvature, points.shape).astype(np.float64)


def nearest_local_minima(measured: ArrayLike, target_singular_values: ArrayLike, depth: int,
                         lam_value: float) -> NDArray[np.float64]:
    """For each measured singular value, the local minimum of f it sits at.

    The non-zero one (``regularized_local_minima``) when the measurement is closer to it than to 0,
    else 0 — where a training from a generic start ends (0 is a local minimum for every L >= 3).

    Parameters
    ----------
    measured : array_like, shape (k,)
    target_singular_values : array_like, shape (k,)
    depth : int
    lam_value : float

    Returns
    -------
    ndarray, shape (k,)

    Raises
    ------
    ValueError
        When the two arrays differ in shape.
    """
    measured = as_vector(measured, "measured", nonnegative=True)
    local = regularized_local_minima(target_singular_values, depth, lam_value)
    if local.shape != measured.shape:
        raise ValueError(f"measured and target_singular_values must have the same shape, got "
                         f"{measured.shape} and {local.shape}")
    return np.where(np.abs(measured - local) < measured, local, 0.0)
