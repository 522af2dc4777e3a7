"""Training dynamics of linear networks: what the saddle-to-saddle and mixed-dynamics theories predict.

Sources: Jacot, Ged, Şimşek, Hongler, Gabriel, "Saddle-to-saddle dynamics in deep linear networks",
arXiv 2106.15933; Tu, Aranguri, Jacot, "Mixed dynamics in linear networks: unifying the lazy and
active regimes", arXiv 2405.17580 (the second half of this module).

Exactly solvable surrogate: a depth-L network with aligned, balanced initialization W_ℓ = εI on the
loss ½‖W_L⋯W_1 − A*‖_F² with A* diagonal. Each singular value a of the product then follows
    da/dt = L·a^{2−2/L}·(y − a),   a(0) = s₀ = ε^L,
with y the matching singular value of A*. The **escape time** is the time the mode needs to reach
half its target, a = y/2: the end of the plateau at the saddle where that mode is still ≈ 0.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import scipy.linalg
import sympy as sp
from numpy.typing import ArrayLike, NDArray

from rankcheck.validation import as_matrix, as_vector, nonnegative_float, positive_int

__all__ = [
    "L", "mode_velocity", "scaled_escape_time_expr", "escape_time", "escape_time_leading", "c",
    "mixed_mode_velocity", "lazy_limit", "balanced_limit", "scalar_imbalance_gap", "mixed_kernel",
    "active_modes", "absorbing_radius"
]

a, y = sp.symbols("a y", positive=True)
u, u0 = sp.symbols("u u0", positive=True)
L = sp.Symbol("L", positive=True, integer=True)


def mode_velocity() -> sp.Expr:
    """da/dt = L·a^{2−2/L}(y − a): gradient flow of ½(Π_ℓ w_ℓ − y)² from balanced w_ℓ = a^{1/L}.

    (Each factor obeys dw/dt = w^{L−1}(y − w^L); then da/dt = L·w^{L−1}·dw/dt.)

    Returns
    -------
    sympy.Expr
    """
    w = sp.Symbol("w", positive=True)
    factor_velocity = w ** (L - 1) * (y - w**L)
    return sp.simplify((L * w ** (L - 1) * factor_velocity).subs(w, a ** (1 / L)))


@cache
def scaled_escape_time_expr(depth: int) -> sp.Expr:
    """T_L(b₀) = ∫_{b₀}^{1/2} db / (L·b^{2−2/L}(1 − b)) in terms of u0 = b₀^{1/L}.

    With a = y·b and τ = y^{2−2/L}·t the mode equation loses y: db/dτ = L·b^{2−2/L}(1 − b). The
    substitution b = u^L makes the integrand the rational function u^{1−L}/(1 − u^L), which sympy
    integrates exactly (logs and arctangents). Its antiderivative contains log(u − 1), complex on
    (0, 1) with a constant imaginary part that cancels between the limits: evaluate in complex
    arithmetic and keep the real part (``escape_time`` does).

    Parameters
    ----------
    depth : int
        L >= 2.

    Returns
    -------
    sympy.Expr
        In the symbol u0.
    """
    depth = positive_int(depth, "depth", minimum=2)
    integrand = sp.simplify((1 / mode_velocity().subs({L: depth, y: 1})).subs(a, u**depth)
                            * sp.diff(u**depth, u))
    antiderivative = sp.integrate(sp.cancel(integrand), u)
    upper = sp.Rational(1, 2) ** sp.Rational(1, depth)
    return antiderivative.subs(u, upper) - antiderivative.subs(u, u0)


@cache
def _scaled_escape_time_numeric(depth: int):
    return sp.lambdify(u0, scaled_escape_time_expr(depth), "numpy")


def escape_time(s0: ArrayLike, target: ArrayLike, depth: int) -> NDArray[np.float64]:
    """Exact time for a mode to grow from s₀ to y/2: y^{−(2−2/L)}·T_L(s₀/y), elementwise.

    L = 2 gives the logistic value log((y − s₀)/s₀)/(2y); for L = 1 the flow is linear, with no
    plateau (refused).

    Parameters
    ----------
    s0 : array_like
        Initial singular values, 0 < s₀ < y/2.
    target : array_like
        y, broadcast against ``s0``.
    depth : int
        L >= 2.

    Returns
    -------
    ndarray, the broadcast shape

    Raises
    ------
    ValueError
        Naming the argument: ``depth`` < 2, or s₀ outside (0, y/2).
    """
    depth = positive_int(depth, "depth", minimum=2)
    start = as_vector(s0, "s0", nonnegative=True)
    goal = as_vector(target, "target", nonnegative=True)
    start, goal = np.broadcast_arrays(start, goal)
    if np.any(start <= 0) or np.any(start >= goal / 2):
        raise ValueError("s0 must satisfy 0 < s0 < target/2 elementwise")
    ratio = (start / goal) ** (1.0 / depth)
    scaled = np.real(_scaled_escape_time_numeric(depth)(ratio.astype(np.complex128)))
    return scaled * goal ** (-(2.0 - 2.0 / depth))


def escape_time_leading(s0: ArrayLike, target: ArrayLike, depth: int) -> NDArray[np.float64]:
    """Leading order of ``escape_time`` as s₀ → 0: log(y/s₀)/(2y) for L = 2, s₀^{−(L−2)/L}/((L − 2)·y)
    for L >= 3.

    Parameters
    ----------
    s0 : array_like
        Initial singular values, 0 < s₀ < y/2.
    target : array_like
        y, broadcast against ``s0``.
    depth : int
        L >= 2.

    Returns
    -------
    ndarray, the broadcast shape
    """
    depth = positive_int(depth, "depth", minimum=2)
    start = as_vector(s0, "s0", nonnegative=True)
    goal = as_vector(target, "target", nonnegative=True)
    if depth == 2:
        return np.log(goal / start) / (2 * goal)
    return start ** (-(depth - 2) / depth) / ((depth - 2) * goal)


# --- Mixed dynamics of a shallow network A = W₂W₁ (arXiv 2405.17580) -------------------------------
#
# Gradient flow of ½‖W₂W₁ − A*‖² gives dA/dt = −(W₂W₂ᵀ G + G W₁ᵀW₁), G = A − A*. The self-consistent
# formula closes this equation by W₂W₂ᵀ ≈ (AAᵀ + c²I)^{1/2}, W₁ᵀW₁ ≈ (AᵀA + c²I)^{1/2} with c = σ²w
# (the value of both kernels at a Gaussian init of variance σ² and width w).

c = sp.Symbol("c", nonnegative=True)  # σ²·w, the mixed threshold


def mixed_mode_velocity() -> sp.Expr:
    """The formula on one aligned mode (A, A* diagonal, a = s_i(A), y = s_i(A*)):
    da/dt = −2·√(a² + c²)·(a − y).

    Returns
    -------
    sympy.Expr
    """
    return -2 * sp.sqrt(a**2 + c**2) * (a - y)


def lazy_limit() -> sp.Expr:
    """lim_{c→∞} (da/dt)/c = −2(a − y): the kernel (lazy) regime, a linear flow of rate 2c.

    Returns
    -------
    sympy.Expr
    """
    return sp.limit(mixed_mode_velocity() / c, c, sp.oo)


def balanced_limit() -> sp.Expr:
    """The formula at c = 0: 2a(y − a), the balanced depth-2 mode velocity (``mode_velocity``).

    Returns
    -------
    sympy.Expr
    """
    return sp.simplify(mixed_mode_velocity().subs(c, 0))


def scalar_imbalance_gap() -> sp.Expr:
    """(da/dt)² of the exact d = w = 1 flow minus that of the formula with c = δ/2; simplifies to 0.

    a = w₁w₂, loss ½(a − y)², dw₁/dt = −∂loss/∂w₁ = −w₂g, dw₂/dt = −w₁g with g = a − y, so
    da/dt = −(w₁² + w₂²)·g, and (w₁² + w₂²)² = 4a² + δ² with the conserved δ = w₁² − w₂².
    Both velocities are −(positive)·g, so equal squares mean equal velocities.

    Returns
    -------
    sympy.Expr
    """
    w1, w2 = sp.symbols("w1 w2", real=True)
    loss = (w1 * w2 - y) ** 2 / 2
    exact = sp.diff(w1 * w2, w1) * -sp.diff(loss, w1) + sp.diff(w1 * w2, w2) * -sp.diff(loss, w2)
    formula = mixed_mode_velocity().subs(c, (w1**2 - w2**2) / 2).subs(a, w1 * w2)
    return sp.simplify(sp.expand(exact**2 - formula**2))


def mixed_kernel(gram: ArrayLike, sigma2_w: float) -> NDArray[np.float64]:
    """The kernel the mixed formula assigns to a layer: (gram + c²I)^{1/2}, c = σ²w.

    gram = AᵀA (d×d) for W₁ᵀW₁ or AAᵀ for W₂W₂ᵀ. At convergence (A = A*) its eigenvalues are
    √(s_i(A*)² + c²).

    Parameters
    ----------
    gram : array_like, shape (k, k)
        Symmetric positive semi-definite.
    sigma2_w : float
        c >= 0.

    Returns
    -------
    ndarray, shape (k, k)
    """
    matrix = as_matrix(gram, "gram", square=True)
    threshold = nonnegative_float(sigma2_w, "sigma2_w")
    return np.real(scipy.linalg.sqrtm(matrix + threshold**2 * np.eye(matrix.shape[0])))


def active_modes(target_singular_values: ArrayLike, sigma2_w: float) -> int:
    """Number of balanced (active) modes: singular values of A* above the threshold c = σ²w.

    A mode's kernel grows from c to √(s² + c²), by more than a factor √2 exactly when s > c.

    Parameters
    ----------
    target_singular_values : array_like, shape (k,)
    sigma2_w : float
        c >= 0.

    Returns
    -------
    int
    """
    values = as_vector(target_singular_values, "target_singular_values", nonnegative=True)
    return int(np.sum(values > nonnegative_float(sigma2_w, "sigma2_w")))


# --- One-way rank jumps of SGD (Wang, Jacot, arXiv 2305.16038) ------------------------------------


def absorbing_radius(lam_value: float, gradient_bound: float, depth: int) -> float:
    """s_τ = (2λ/G)^{L/(L−2)}: below it every SGD step shrinks a balanced mode, so it never returns.

    A balanced mode s = w^L under one step with weight decay 2λ moves each factor by
    −η(w^{L−1}·g + 2λw), with |g| <= G the minibatch gradient's norm; the step shrinks w whenever
    w^{L−1}G < 2λw, i.e. s < (2λ/G)^{L/(L−2)}. For L = 2 the region is empty or everything,
    depending on G vs 2λ (refused).

    Parameters
    ----------
    lam_value : float
        λ > 0.
    gradient_bound : float
        G > 0.
    depth : int
        L >= 3.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        Naming the argument: non-positive λ or G, ``depth`` < 3.
    """
    depth = positive_int(depth, "depth", minimum=3)
    lam_value = nonnegative_float(lam_value, "lam", positive=True)
    bound = nonnegative_float(gradient_bound, "gradient_bound", positive=True)
    return (2 * lam_value / bound) ** (depth / (depth - 2))
