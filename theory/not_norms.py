"""The 2×2 completion whose implicit regularization no norm explains: what the theory predicts.

Source: Razin, Cohen, "Implicit regularization in deep learning may not be explainable by norms",
NeurIPS 2020, arXiv 2005.06398.

Observed entries W₁₂ = W₂₁ = 1, W₂₂ = 0; the free entry W₁₁ = x. Every completion
C(x) = [[x, 1], [1, 0]] has det = −1, so s₁s₂ = 1; writing x = 2·sinh(v) (v ≥ 0 for x ≥ 0, and
C(−x) has the same singular values) gives s₁ = e^v, s₂ = e^{−v}. Gradient flow of a depth-L
factorization (L ≥ 2) from a balanced start with det > 0 keeps det > 0, because each singular value
moves at a rate proportional to s^{2−2/L}, which vanishes at 0. A matrix that fits the observations
to residual r with det > 0 needs |x| ≥ (1 − r)²/r, so fitting drives |x| → ∞, v → ∞: every Schatten
(quasi-)norm (e^{pv} + e^{−pv})^{1/p} grows without bound while the effective rank falls to 1.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import sympy as sp
from numpy.typing import ArrayLike, NDArray

from rankcheck.validation import as_vector

__all__ = [
    "x", "completion", "characteristic_polynomial", "singular_values_in_v", "schatten_log_derivative",
    "effective_rank_expr", "effective_rank_log_derivative", "residual_lower_bound",
    "completion_singular_values"
]

x = sp.Symbol("x", real=True)
v, p = sp.symbols("v p", positive=True)


def completion(free_entry: sp.Expr = x) -> sp.Matrix:
    """C(x) = [[x, 1], [1, 0]]: the observed entries of Razin & Cohen's 2×2 completion with the free
    entry filled in (arXiv 2005.06398).

    Parameters
    ----------
    free_entry : sympy.Expr, default the symbol x

    Returns
    -------
    sympy.Matrix, 2×2
    """
    return sp.Matrix([[free_entry, 1], [1, 0]])


def characteristic_polynomial(level: sp.Expr = v) -> tuple[sp.Expr, sp.Symbol]:
    """det(λI − C(2·sinh v)) = λ² − 2·sinh(v)·λ − 1, and its variable λ.

    Parameters
    ----------
    level : sympy.Expr, default the symbol v

    Returns
    -------
    (polynomial, lam) : tuple of sympy.Expr and sympy.Symbol
    """
    lam = sp.Symbol("lambda")
    return (lam * sp.eye(2) - completion(2 * sp.sinh(level))).det(), lam


def singular_values_in_v() -> tuple[sp.Expr, sp.Expr]:
    """(s₁, s₂) = (e^v, e^{−v}) of C(2·sinh v): C is symmetric, so its singular values are the
    absolute values of its eigenvalues, the roots e^v and −e^{−v} of ``characteristic_polynomial``
    (the tests substitute them).

    Returns
    -------
    tuple of two sympy.Expr
    """
    return sp.exp(v), sp.exp(-v)


def schatten_log_derivative() -> sp.Expr:
    """d/dv log ‖C‖_{S_p} for ‖C‖_{S_p} = (s₁^p + s₂^p)^{1/p}; equals tanh(p·v) > 0 for v > 0.

    Returns
    -------
    sympy.Expr
    """
    s1, s2 = sp.exp(v), sp.exp(-v)
    return sp.simplify(sp.diff(sp.log((s1**p + s2**p) ** (1 / p)), v).rewrite(sp.tanh))


def effective_rank_expr() -> sp.Expr:
    """Effective rank exp(H(q)) (Roy and Vetterli) of C(2·sinh v), q = s₁/(s₁ + s₂) = e^{2v}/(e^{2v}+1).

    Returns
    -------
    sympy.Expr
    """
    q = sp.exp(2 * v) / (sp.exp(2 * v) + 1)
    return sp.exp(-q * sp.log(q) - (1 - q) * sp.log(1 - q))


def effective_rank_log_derivative() -> sp.Expr:
    """d/dv log erank = H'(q)·dq/dv = (−2v)·(2q(1 − q)) = −v/cosh²(v) < 0 for v > 0.

    Returns
    -------
    sympy.Expr
    """
    return sp.simplify(sp.diff(sp.log(effective_rank_expr()), v).rewrite(sp.exp))


def residual_lower_bound(residual: sp.Expr) -> sp.Expr:
    """Least |x| of a matrix [[x, b], [c, d]] with det > 0 and |b − 1|, |c − 1|, |d| <= r < 1.

    det = x·d − b·c > 0 needs |x|·|d| > b·c >= (1 − r)², hence |x| > (1 − r)²/r.

    Parameters
    ----------
    residual : sympy.Expr
        r, the largest misfit of an observed entry.

    Returns
    -------
    sympy.Expr
    """
    return (1 - residual) ** 2 / residual


@cache
def _values_numeric():
    return sp.lambdify(v, sp.Matrix(singular_values_in_v()), "numpy")


def completion_singular_values(free_entry: ArrayLike) -> NDArray[np.float64]:
    """Singular values (s₁, s₂) = e^{±asinh(|x|/2)} of C(x) for each x.

    Parameters
    ----------
    free_entry : array_like, shape (n,)

    Returns
    -------
    ndarray, shape (n, 2)

    Raises
    ------
    ValueError
        When ``free_entry`` is not a finite vector.
    """
    entries = as_vector(free_entry, "free_entry")
    level = np.arcsinh(np.abs(entries) / 2)
    return np.asarray(_values_numeric()(level), dtype=np.float64).reshape(2, -1).T
