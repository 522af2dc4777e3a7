"""Separation rank of GNNs with product aggregation: an upper bound from the walks of the graph.

Source: Razin, Verbin, Cohen, "On the ability of graph neural networks to model interactions between
vertices", NeurIPS 2023, arXiv 2211.16494. The paper bounds the separation rank
by D_h^{O(WI_{L−1}(I))}; its exact constants could not be read here,
so this module derives its own bound, for the architecture of ``numerics.gnn.product_gnn``:

    h⁽⁰⁾_i = x_i,   h⁽ˡ⁾_i = ⊙_{j∈N[i]} W⁽ˡ⁾ h⁽ˡ⁻¹⁾_j  (l = 1..L, width D_h, N[i] with the self-loop),
    f = ⟨w_o, h⁽ᴸ⁾_t⟩ (vertex prediction)  or  f = ⟨w_o, ⊙_i h⁽ᴸ⁾_i⟩ (graph prediction).

The separation rank sep(f; I) is the least R with f = Σ_{r≤R} g_r(x_I)·k_r(x_{Iᶜ}). It is
subadditive over sums and submultiplicative over products, and a function of the features of one
side only has sep = 1. Call vertex j *mixed at level m* when the m-hop ball around it meets both
I and Iᶜ (⇔ dist(j, C_I) <= m − 1, C_I the boundary). A pure h⁽ᵐ⁾_j has sep 1; a mixed one has,
coordinate by coordinate, sep <= D_h^{e_m(j)} with

    e_0 = 0,   e_l = Â (1_{mixed at l−1} + e_{l−1})          (Â = A + I),

because (W h⁽ˡ⁻¹⁾_j)_d sums D_h coordinates (a factor D_h, counted only for mixed j) and the
aggregation multiplies over N[i]. The read-out sums D_h coordinates once more:

    sep(f; I) <= D_h^{1 + e_L(t)}  (vertex),      sep(f; I) <= D_h^{1 + Σ_i e_L(i)}  (graph).

Unrolled, e_L = Σ_{k=1}^{L−1} Â^k 1_{mixed at L−k}: walks of length k from the (L−k−1)-neighbourhood
of C_I. Prefixing a shortest path from C_I and self-loops turns each into a length-(L−1) walk from
C_I, injectively for each k, so e_L <= (L − 1)·WI_{L−1}(I) (``walk_index_bound``): the bound has
the paper's form D_h^{O(WI)}.
"""

from __future__ import annotations

from collections.abc import Sequence

import sympy as sp

from rankcheck.validation import positive_int

__all__ = [
    "mixed_levels", "interaction_exponent", "separation_rank_bound", "walk_index_bound", "bound_value"
]

width, walks, layers = sp.symbols("D_h WI L", positive=True, integer=True)


def _closed_adjacency(num_nodes: int, edges: Sequence[tuple[int, int]]) -> sp.Matrix:
    """Â = A + I (n×n, exact integers) of an undirected graph given by its vertex pairs."""
    matrix = sp.eye(num_nodes)
    for u, v in edges:
        if not (0 <= u < num_nodes and 0 <= v < num_nodes) or u == v:
            raise ValueError(f"edges must be pairs of distinct vertex ids in [0, {num_nodes}), "
                             f"got {(u, v)}")
        matrix[u, v] = matrix[v, u] = 1
    return matrix


def _side(num_nodes: int, partition: Sequence[int]) -> list[bool]:
    inside = [False] * num_nodes
    for v in partition:
        if not 0 <= v < num_nodes:
            raise ValueError(f"partition must hold vertex ids in [0, {num_nodes}), got {v}")
        inside[v] = True
    if not 0 < sum(inside) < num_nodes:
        raise ValueError("partition must be a non-empty proper subset of the vertices")
    return inside


def mixed_levels(num_nodes: int, edges: Sequence[tuple[int, int]], partition: Sequence[int],
                 depth: int) -> list[list[bool]]:
    """For levels m = 0..depth − 1 and each vertex j: does its m-hop ball (in Â) meet both I and Iᶜ?

    Parameters
    ----------
    num_nodes : int
    edges : sequence of (int, int)
        Undirected edges, each once.
    partition : sequence of int
        The vertices of I.
    depth : int
        L >= 1.

    Returns
    -------
    list of list of bool, shape (depth, num_nodes)
    """
    closed = _closed_adjacency(num_nodes, edges)
    inside = _side(num_nodes, partition)
    reach, levels = sp.eye(num_nodes), []
    for _ in range(depth):
        levels.append([any(reach[j, v] and inside[v] for v in range(num_nodes))
                       and any(reach[j, v] and not inside[v] for v in range(num_nodes))
                       for j in range(num_nodes)])
        reach = (reach * closed).applyfunc(lambda entry: sp.Integer(min(entry, 1)))
    return levels


def interaction_exponent(num_nodes: int, edges: Sequence[tuple[int, int]], partition: Sequence[int],
                         depth: int, target: int | None = None) -> sp.Integer:
    """The exponent of the separation-rank bound, exactly: 1 + e_L(t) (vertex prediction at t) or
    1 + Σ_i e_L(i) (graph prediction).

    Parameters
    ----------
    num_nodes : int
    edges : sequence of (int, int)
        Undirected edges, each once.
    partition : sequence of int
        The vertices of I.
    depth : int
        L >= 1.
    target : int, optional
        The vertex predicted at; None for graph prediction.

    Returns
    -------
    sympy.Integer
    """
    depth = positive_int(depth, "depth")
    closed = _closed_adjacency(num_nodes, edges)
    exponents = sp.zeros(num_nodes, 1)
    for mixed in mixed_levels(num_nodes, edges, partition, depth):
        exponents = closed * (sp.Matrix([int(m) for m in mixed]) + exponents)
    if target is None:
        return 1 + sum(exponents)
    if not 0 <= target < num_nodes:
        raise ValueError(f"target must be a vertex id in [0, {num_nodes}), got {target}")
    return 1 + exponents[target]


def separation_rank_bound(num_nodes: int, edges: Sequence[tuple[int, int]],
                          partition: Sequence[int], depth: int, target: int | None = None) -> sp.Expr:
    """sep(f; I) <= D_h^{exponent} for every product-aggregation GNN of depth L on the graph.

    Re-derived from the product structure (Razin, Verbin, Cohen 2023, arXiv 2211.16494, whose form is
    D_h^{O(WI)}); see notes/gnn.md.

    Parameters
    ----------
    num_nodes : int
    edges : sequence of (int, int)
        Undirected edges, each once.
    partition : sequence of int
        The vertices of I.
    depth : int
        L >= 1.
    target : int, optional

    Returns
    -------
    sympy.Expr
        A power of the symbol ``D_h``.
    """
    return width ** interaction_exponent(num_nodes, edges, partition, depth, target)


def walk_index_bound() -> sp.Expr:
    """The walk-index form of the bound, D_h^{1 + (L − 1)·WI} with WI = WI_{L−1}(I) (graph or
    vertex prediction alike), in the symbols ``D_h``, ``L``, ``WI``.

    Returns
    -------
    sympy.Expr
    """
    return width ** (1 + (layers - 1) * walks)


def bound_value(num_nodes: int, edges: Sequence[tuple[int, int]], partition: Sequence[int], depth: int,
                target: int | None, hidden: int) -> int:
    """``separation_rank_bound`` at width ``hidden``: an exact Python integer.

    Parameters
    ----------
    num_nodes : int
    edges : sequence of (int, int)
        Undirected edges, each once.
    partition : sequence of int
        The vertices of I.
    depth : int
        L >= 1.
    target : int or None
    hidden : int
        D_h >= 1.

    Returns
    -------
    int
    """
    hidden = positive_int(hidden, "hidden")
    return int(separation_rank_bound(num_nodes, edges, partition, depth, target).subs(width, hidden))
