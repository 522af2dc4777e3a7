"""Notions of rank for nonlinear networks: the one-point cost and its expansion in depth, and the
pseudo-determinant bound on R⁽¹⁾.

Source: Jacot, "Implicit bias of large depth networks: a notion of rank for nonlinear functions",
arXiv 2209.15055, and Jacot, "Bottleneck structure in learned features", arXiv 2305.19008.
The one-point task asks for the least ‖θ‖² = Σ_ℓ ‖W_ℓ‖_F² of a depth-L bias-free
ReLU network with f(x) = y. Since ReLU is 1-Lipschitz with σ(0) = 0,
‖f(x)‖ ≤ Π_ℓ ‖W_ℓ‖_op·‖x‖ ≤ Π_ℓ ‖W_ℓ‖_F·‖x‖, and by AM–GM Σ a_ℓ² ≥ L·(Π a_ℓ)^{2/L}; rank-one
weights along a non-negative unit vector attain both, so the cost is that of the least-norm
*linear* map y xᵀ/‖x‖², whose only singular value is ‖y‖/‖x‖: the DLN scalar cost
``theory.dln.scalar_representation_cost`` at s = ‖y‖/‖x‖, reused here, not re-derived.
"""

from __future__ import annotations

from functools import cache

import sympy as sp

from rankcheck.theory import dln
from rankcheck.validation import nonnegative_float, positive_int

__all__ = [
    "epsilon", "rho", "one_point_cost", "one_point_expansion", "one_point_regularized",
    "one_point_cost_fn", "pseudo_determinant_bound", "pseudo_determinant_gap_linear",
    "linear_composition_identity", "linear_direct_sum_identity"
]

x_norm, y_norm = sp.symbols("x_norm y_norm", positive=True)
epsilon = sp.Symbol("epsilon", positive=True)  # 1/L in the expansion
rho = sp.Symbol("rho", real=True)  # log(‖y‖/‖x‖)


def one_point_cost() -> sp.Expr:
    """R(x ↦ y; L) = L·(‖y‖/‖x‖)^{2/L}, in the symbols ``dln.L``, ``x_norm``, ``y_norm``.

    Returns
    -------
    sympy.Expr
    """
    return dln.scalar_representation_cost().subs(dln.s, y_norm / x_norm)


def one_point_expansion(order: int) -> sp.Expr:
    """The cost L·(‖y‖/‖x‖)^{2/L} in powers of L, in ρ = log(‖y‖/‖x‖), to a given order.

    L·R⁽⁰⁾ + R⁽¹⁾ + R⁽²⁾/L + … + R⁽ᵒʳᵈᵉʳ⁾/L^{order−1}, with R⁽⁰⁾ = 1 (the rank of a one-point
    function), R⁽¹⁾ = 2ρ, and in general R⁽ᵏ⁾ = (2ρ)^k/k!.

    Parameters
    ----------
    order : int
        >= 0.

    Returns
    -------
    sympy.Expr
        In L and the symbol rho.
    """
    order = positive_int(order, "order")
    in_rho = one_point_cost().subs(y_norm, x_norm * sp.exp(rho))
    series = sp.series(sp.powsimp(in_rho.subs(dln.L, 1 / epsilon), force=True), epsilon, 0, order).removeO()
    return sp.expand(sp.simplify(series.subs(epsilon, 1 / dln.L)))


def one_point_regularized(x_value: float, y_value: float, depth: int, lam_value: float,
                          minimum: str = "global") -> tuple[float, float]:
    """Global minimum of ½‖f(x) − y‖² + λ‖θ‖² over depth-L ReLU networks on one point.

    The network's output is s·ŷ and its least cost L·(s/‖x‖)^{2/L}, so with t = s/‖x‖ the problem is
    ‖x‖²·[½(t − ‖y‖/‖x‖)² + (λ/‖x‖²)·L·t^{2/L}], the DLN scalar problem
    (``rankcheck.theory.dln.regularized_singular_values``) at target ‖y‖/‖x‖ and coefficient λ/‖x‖².

    Parameters
    ----------
    x_value, y_value : float
        ‖x‖ > 0 and ‖y‖ >= 0.
    depth : int
    lam_value : float
    minimum : {"global", "local"}, default "global"
        "local": the non-zero local minimum (for L >= 3 it exists above a lower threshold, and
        training from a generic start ends there).

    Returns
    -------
    (output_norm, cost) : tuple of float
        ‖f(x)‖ and ‖θ‖² at the minimizer (both 0 below the depth's threshold).
    """
    x_value = nonnegative_float(x_value, "x_value", positive=True)
    y_value = nonnegative_float(y_value, "y_value")
    depth = positive_int(depth, "depth")
    lam_value = nonnegative_float(lam_value, "lam_value")
    (t,) = dln.regularized_minima([y_value / x_value], depth, lam_value / x_value**2, minimum)
    return float(x_value * t), float(depth * t ** (2 / depth))


@cache
def one_point_cost_fn():
    """``one_point_cost`` as a numpy function.

    Returns
    -------
    callable (x_norm, y_norm, L) -> float
    """
    return sp.lambdify((x_norm, y_norm, dln.L), one_point_cost(), "numpy")




def pseudo_determinant_bound(rank: int) -> sp.Expr:
    """2·log|J|₊ = 2·Σ_{i <= rank} log s_i for a Jacobian J with non-zero singular values s_1 … s_rank.

    The lower bound R⁽¹⁾(f) >= 2·log|Jf(x)|₊ at points x where rank Jf(x) = R⁽⁰⁾(f) (Jacot, arXiv
    2305.19008; see notes/bottleneck.md for the form checked). For a linear map it holds with
    equality (``pseudo_determinant_gap_linear``).

    Parameters
    ----------
    rank : int
        >= 1.

    Returns
    -------
    sympy.Expr
        In the singular-value symbols ``dln.sv``.
    """
    k = positive_int(rank, "rank")
    return 2 * sum(sp.log(dln.sv[j]) for j in range(1, k + 1))


def pseudo_determinant_gap_linear(rank: int) -> sp.Expr:
    """R⁽¹⁾(A) − 2·log|A|₊ for a linear map A of the given rank: simplifies to 0 (the bound is tight).

    R⁽¹⁾ is the L⁰ coefficient of the DLN depth expansion (``dln.depth_expansion_coefficients``).

    Parameters
    ----------
    rank : int

    Returns
    -------
    sympy.Expr
    """
    k = positive_int(rank, "rank")
    r1 = dln.depth_expansion_coefficients(1)[1]
    log_sum = sum(sp.log(dln.sv[j]) for j in range(1, k + 1))
    gap = r1.subs(dln.power_sum(1), log_sum) - pseudo_determinant_bound(k)
    return sp.simplify(sp.expand_log(gap, force=True))


def _symbolic_matrix(name: str, rows: int, cols: int) -> sp.Matrix:
    return sp.Matrix(rows, cols, lambda i, j: sp.Symbol(f"{name}{i}{j}", real=True))


def linear_composition_identity(n: int) -> sp.Expr:
    """det(AB)² − det(A)²·det(B)² for symbolic n×n A, B, expanded: 0.

    For invertible linear maps |AB|₊ = |A|₊·|B|₊, so R⁽¹⁾ = 2·log|·|₊ is exactly additive under
    composition and R⁽⁰⁾ = rank is unchanged (n). With equal ranks but singular maps only
    R⁽¹⁾(AB) <= R⁽¹⁾(A) + R⁽¹⁾(B) holds (Horn's inequality; tested numerically).

    Parameters
    ----------
    n : int

    Returns
    -------
    sympy.Expr
    """
    size = positive_int(n, "n")
    A, B = _symbolic_matrix("a", size, size), _symbolic_matrix("b", size, size)
    return sp.expand((A * B).det() ** 2 - A.det() ** 2 * B.det() ** 2)


def linear_direct_sum_identity(n: int, m: int) -> sp.Expr:
    """det(A ⊕ B)² − det(A)²·det(B)² for symbolic A (n×n), B (m×m), expanded: 0.

    On a direct sum R⁽⁰⁾ = rank and R⁽¹⁾ = 2·log|·|₊ are exactly additive, the equality case of their
    subadditivity under addition.

    Parameters
    ----------
    n, m : int

    Returns
    -------
    sympy.Expr
    """
    A, B = _symbolic_matrix("a", positive_int(n, "n"), n), _symbolic_matrix("b", positive_int(m, "m"), m)
    return sp.expand(sp.diag(A, B).det() ** 2 - A.det() ** 2 * B.det() ** 2)
