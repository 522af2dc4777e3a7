"""Tensor factorization: the dynamics of component norms under gradient flow.

Sources: Razin, Maman, Cohen, "Implicit regularization in tensor factorization", ICML 2021,
arXiv 2102.09972; for the hierarchical factorization, Razin, Maman, Cohen,
ICML 2022, arXiv 2201.11729 (§10c).

A CP factorization W = Σ_r w_r¹ ⊗ … ⊗ w_r^N trained by gradient flow on a loss ℓ(W). For one
component with factors w¹..w^N, dw^n/dt = −∇ℓ(W) ×_{m≠n} w^m (the gradient contracted with every
other factor), so d‖w^n‖/dt = Π_{m≠n}‖w^m‖·g with g = ⟨−∇ℓ(W), ŵ¹ ⊗ … ⊗ ŵ^N⟩, and the norm
σ = Π_n ‖w^n‖ of the component obeys
    dσ/dt = (Σ_n Π_{m≠n} ‖w^m‖²)·g = N·σ^{2−2/N}·g   when the factors are balanced
(‖w^n‖ all equal, which the flow conserves: d/dt(‖w^n‖² − ‖w^m‖²) = 0).
"""

from __future__ import annotations

import itertools

import sympy as sp

from rankcheck.validation import positive_int

__all__ = ["component_norm_rate", "derived_rate_gap", "local_component_norm_rate", "derived_local_rate_gap"]

sigma, g = sp.symbols("sigma g", positive=True)


def component_norm_rate(order: int) -> sp.Expr:
    """dσ/dt = N·σ^{2−2/N}·g for a balanced component of an order-N CP factorization.

    Razin, Maman, Cohen 2021 (arXiv 2102.09972): σ the component's norm, g = ⟨−∇ℓ(W), Ŵ⟩ its
    alignment with the loss gradient.

    Parameters
    ----------
    order : int
        N >= 2.

    Returns
    -------
    sympy.Expr
        In the symbols sigma and g.
    """
    order = positive_int(order, "order", minimum=2)
    return order * sigma ** (2 - sp.Rational(2, order)) * g


def derived_rate_gap(order: int, dim: int = 2) -> sp.Expr:
    """dσ/dt derived from the flow equations, minus (Σ_n Π_{m≠n}‖w^m‖²)·⟨−G, Ŵ⟩: simplifies to 0.

    Symbolic factors (``dim`` entries each) and a symbolic gradient tensor G = ∇ℓ(W); with equal
    norms the bracket is N·σ^{2−2/N} (``component_norm_rate``).

    Parameters
    ----------
    order : int
        N >= 2.
    dim : int, default 2
        Entries of each factor vector.

    Returns
    -------
    sympy.Expr
    """
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


def local_component_norm_rate(children: int = 2) -> sp.Expr:
    """dσ/dt = K·σ^{2−2/K}·g, K = children + 1, for a balanced local component of a hierarchical
    factorization (Razin, Maman, Cohen 2022, arXiv 2201.11729).

    The r-th local component of node ν is the K vectors z_1..z_K = (column r of each child's matrix,
    row r of ν's matrix); σ = Π_k ‖z_k‖. Scaling any one z_k by 1 + ε scales the r-th term of ν's sum,
    so W(ε) = W + ε·C with C the tensor with only that term kept at ν: hence
    ⟨z_k, ∇_{z_k}ℓ⟩ = ⟨∇ℓ(W), C⟩ for every k, d‖z_k‖²/dt = 2⟨−∇ℓ(W), C⟩ is the same for all k (the
    flow keeps a balanced component balanced) and, with g = ⟨−∇ℓ(W), C⟩/σ,
    dσ/dt = Σ_k (σ/‖z_k‖²)·⟨−∇ℓ(W), C⟩ = K·σ^{2−2/K}·g — the CP law of order K.
    ``derived_local_rate_gap`` derives it from the flow equations of an order-4 tree.

    Parameters
    ----------
    children : int, default 2
        Children per node (2 for the binary tree: K = 3).

    Returns
    -------
    sympy.Expr
        In the symbols sigma and g.
    """
    children = positive_int(children, "children")
    return component_norm_rate(children + 1)


def _tree_tensor(leaves: list, nodes: list, root: sp.Matrix) -> dict:
    """Entries W[i, j, k, l] of the order-4 hierarchical factorization (``numerics.tensor.htf_tensor``
    written out): φ_n[(i, j), s] = Σ_r A[i, r]·B[j, r]·M_n[r, s] and
    W = Σ_r φ_0[(i, j), r]·φ_1[(k, l), r]·q_r."""
    rank, dim = root.shape[0], leaves[0].shape[0]
    pairs = ((leaves[0], leaves[1], nodes[0]), (leaves[2], leaves[3], nodes[1]))
    phi = [{(i, j, s): sum(a[i, r] * b[j, r] * m[r, s] for r in range(rank))
            for i in range(dim) for j in range(dim) for s in range(rank)} for a, b, m in pairs]
    return {(i, j, k, l): sum(phi[0][i, j, r] * phi[1][k, l, r] * root[r] for r in range(rank))
            for i, j, k, l in itertools.product(range(dim), repeat=4)}


def derived_local_rate_gap(node: int, rank: int = 2, dim: int = 2) -> sp.Expr:
    """dσ/dt of a local component derived from the flow equations of an order-4 tree, minus the law.

    For the first local component of ``node`` of a symbolic order-4 hierarchical factorization
    (leaves dim × rank), from dθ/dt = −⟨G, ∂W/∂θ⟩ with a symbolic gradient tensor G = ∇ℓ(W):
    (derived) − (Σ_k Π_{m≠k}‖z_m‖²)·⟨−G, C⟩/σ, which simplifies to 0 (``local_component_norm_rate``).

    Parameters
    ----------
    node : {0, 1, 2}
        0, 1: the two nodes above the leaves; 2: the root.
    rank : int, default 2
    dim : int, default 2

    Returns
    -------
    sympy.Expr

    Raises
    ------
    ValueError
        For another ``node``.
    """
    node = positive_int(node + 1, "node + 1", minimum=1) - 1
    if node > 2:
        raise ValueError(f"node must be 0, 1 (above the leaves) or 2 (the root), got {node}")
    rank, dim = positive_int(rank, "rank"), positive_int(dim, "dim")
    leaves = [sp.Matrix(dim, rank, lambda i, r, n=n: sp.Symbol(f"a{n}_{i}{r}", real=True)) for n in range(4)]
    nodes = [sp.Matrix(rank, rank, lambda i, r, n=n: sp.Symbol(f"m{n}_{i}{r}", real=True)) for n in range(2)]
    root = sp.Matrix(sp.symbols(f"q0:{rank}", positive=True))  # σ > 0: |q_r| differentiable
    tensor = _tree_tensor(leaves, nodes, root)
    gradient = {index: sp.Symbol("G_" + "".join(map(str, index)), real=True) for index in tensor}
    params = [symbol for matrix in leaves + nodes + [root] for symbol in matrix]
    velocity = {p: -sum(gradient[i] * sp.diff(tensor[i], p) for i in tensor) for p in params}
    first = sp.zeros(rank, 1)
    first[0] = 1
    if node < 2:
        vectors = [leaves[2 * node][:, 0], leaves[2 * node + 1][:, 0], nodes[node][0, :]]
        kept = [sp.diag(*first) * m if n == node else m for n, m in enumerate(nodes)]
        contribution = _tree_tensor(leaves, kept, root)
    else:
        vectors = [nodes[0][:, 0], nodes[1][:, 0], root[0:1, 0]]
        contribution = _tree_tensor(leaves, nodes, sp.diag(*first) * root)
    norms = [sp.sqrt(sum(x**2 for x in v)) for v in vectors]
    value = sp.Mul(*norms)
    derived = sum(sp.diff(value, p) * velocity[p] for p in params)
    inner = -sum(gradient[i] * contribution[i] for i in tensor) / value
    bracket = sum(sp.Mul(*[norms[m] ** 2 for m in range(3) if m != k]) for k in range(3))
    return sp.simplify(derived - bracket * inner)
