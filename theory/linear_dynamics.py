"""Training dynamics of linear networks: what the saddle-to-saddle theory predicts.

Source: Jacot, Ged, Şimşek, Hongler, Gabriel, "Saddle-to-saddle dynamics in deep linear networks",
arXiv 2106.15933.

Exactly solvable surrogate: a depth-L network with aligned, balanced initialization W_ℓ = εI on the
loss ½‖W_L⋯W_1 − A*‖_F² with A* diagonal. Each singular value a of the product then follows
    da/dt = L·a^{2−2/L}·(y − a),   a(0) = s₀ = ε^L,
with y the matching singular value of A*. The **escape time** is the time the mode needs to reach
half its target, a = y/2: the end of the plateau at the saddle where that mode is still ≈ 0.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import sympy as sp
from numpy.typing import ArrayLike, NDArray

from numerics.validation import as_vector, positive_int

a, y = sp.symbols("a y", positive=True)
u, u0 = sp.symbols("u u0", positive=True)
L = sp.Symbol("L", positive=True, integer=True)


def mode_velocity() -> sp.Expr:
    """da/dt = L·a^{2−2/L}(y − a): gradient flow of ½(Π_ℓ w_ℓ − y)² from balanced w_ℓ = a^{1/L}.

    (Each factor obeys dw/dt = w^{L−1}(y − w^L); then da/dt = L·w^{L−1}·dw/dt.)
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

    Requires 0 < s₀ < y/2 and depth >= 2 (for L = 1 the flow is linear, with no plateau).
    L = 2 gives the logistic value log((y − s₀)/s₀)/(2y).
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
    """Leading order as s₀ → 0: log(y/s₀)/(2y) for L = 2, s₀^{−(L−2)/L}/((L − 2)·y) for L >= 3."""
    depth = positive_int(depth, "depth", minimum=2)
    start = as_vector(s0, "s0", nonnegative=True)
    goal = as_vector(target, "target", nonnegative=True)
    if depth == 2:
        return np.log(goal / start) / (2 * goal)
    return start ** (-(depth - 2) / depth) / ((depth - 2) * goal)
