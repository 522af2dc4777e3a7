"""Tensor factorization: the dynamics of component norms under gradient flow.

Source: Razin, Maman, Cohen, "Implicit regularization in tensor factorization", ICML 2021,
arXiv 2102.09972 (CLAIMS.md §10b).

A CP factorization W = Σ_r w_r¹ ⊗ … ⊗ w_r^N trained by gradient flow on a loss ℓ(W). For one
component with factors w¹..w^N, dw^n/dt = −∇ℓ(W) ×_{m≠n} w^m (the gradient contracted with every
other factor), so d‖w^n‖/dt = Π_{m≠n}‖w^m‖·g with g = ⟨−∇ℓ(W), ŵ¹ ⊗ … ⊗ ŵ^N⟩, and the norm
σ = Π_n ‖w^n‖ of the component obeys
    dσ/dt = (Σ_n Π_{m≠n} ‖w^m‖²)·g = N·σ^{2−2/N}·g   when the factors are balanced
(‖w^n‖ all equal, which the flow conserves: d/dt(‖w^n‖² − ‖w^m‖²) = 0).
"""

from __future__ import annotations

import sympy as sp

from numerics.validation import positive_int

sigma, g = sp.symbols("sigma g", positive=True)


def component_norm_rate(order: int) -> sp.Expr:
    """dσ/dt = N·σ^{2−2/N}·g for a balanced component of an order-N CP factorization."""
    order = positive_int(order, "order", minimum=2)
    return order * sigma ** (2 - sp.Rational(2, order)) * g


def derived_rate_gap(order: int, dim: int = 2) -> sp.Expr:
    """Derive dσ/dt from the flow equations with symbolic factors (dim entries each) and a symbolic
    gradient tensor G = ∇ℓ(W); return (derived) − (Σ_n Π_{m≠n}‖w^m‖²)·⟨−G, Ŵ⟩, which simplifies
    to 0. With equal norms the bracket is N·σ^{2−2/N} (``component_norm_rate``)."""
    order = positive_int(order, "order", minimum=2)
    factors = [sp.Matrix(sp.symbols(f"w{n}_0:{dim}", real=True)) for n in range(order)]
    indices = [tuple(i) for i in sp.utilities.iterables.cartes(*[range(dim)] * order)]
    gradient = {index: sp.Symbol("G_" + "".join(map(str, index)), real=True) for index in indices}

    def contract(skip: int) -> sp.Matrix:
        """∇ℓ contracted with every factor but ``skip``: a vector of length dim."""
        out = sp.zeros(dim, 1)
        for index in indices:
            weight = sp.Mul(*[factors[m][index[m]] for m in range(order) if m != skip])
            out[index[skip]] += gradient[index] * weight
        return out

    velocities = [-contract(n) for n in range(order)]
    norms = [sp.sqrt((f.T * f)[0]) for f in factors]
    value = sp.Mul(*norms)
    derived = sum(sp.diff(value, symbol) * velocities[n][k]
                  for n, f in enumerate(factors) for k, symbol in enumerate(f))
    inner = -sum(gradient[index] * sp.Mul(*[factors[m][index[m]] for m in range(order)])
                 for index in indices) / value
    bracket = sum(sp.Mul(*[norms[m] ** 2 for m in range(order) if m != n]) for n in range(order))
    return sp.simplify(derived - bracket * inner)
