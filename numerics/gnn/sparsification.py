"""Walk Index Sparsification (WIS) and the edge-removal baselines it is compared with.

Source: Razin, Verbin, Cohen 2023, arXiv 2211.16494 ((L−1)-WIS and its efficient
1-WIS special case). Baselines: random removal, removal by degree, and spectral
sparsification by effective resistances (Spielman–Srivastava).
"""

from __future__ import annotations

import heapq
from collections import Counter
from functools import cmp_to_key

import numpy as np
import scipy.sparse as sparse
from numpy.typing import ArrayLike, NDArray

from rankcheck.numerics.gnn.graphs import adjacency, check_edge_index, edge_index_of, undirected_pairs
from rankcheck.numerics.gnn.walks import _singleton_indices
from rankcheck.validation import as_seed, positive_int

__all__ = [
    "one_wis", "wis", "random_removal", "degree_removal", "effective_resistances", "spectral_removal",
    "REMOVALS", "removal_order"
]

def _check_removal(edges: NDArray, num_remove: int) -> int:
    total = edges.shape[1] // 2
    count = positive_int(num_remove, "num_remove", minimum=0)
    if count > total:
        raise ValueError(f"num_remove must be at most {total} (the undirected edges), got {count}")
    return count


def one_wis(edge_index: ArrayLike, num_remove: int) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """1-WIS: greedily remove the undirected edge maximizing min(deg u, deg v).

    Ties go to the larger max(deg u, deg v), then to the smaller (u, v). A heap of keys
    (−min deg, −max deg, (u, v)) packed into one integer, with lazy re-keying: degrees only fall, so a
    stored key never ranks above the true one; an entry popped with a stale key is pushed back with
    its current key, and one popped with a current key is the true maximum (ties included). 10⁶
    edges, half removed: 12 s on one core (notes/gnn.md).

    Parameters
    ----------
    edge_index : array_like of int, shape (2, E), or torch_geometric.data.Data
    num_remove : int
        Undirected edges to remove, 0 <= num_remove <= E/2.

    Returns
    -------
    kept : ndarray of int64, shape (2, E − 2·num_remove)
        The remaining graph, both directions.
    order : ndarray of int64, shape (num_remove, 2)
        The removed edges (u, v), u < v, in removal order.

    Raises
    ------
    ValueError
        Naming the argument: a bad graph, or ``num_remove`` outside [0, E/2].
    """
    edges, count = check_edge_index(edge_index)
    remove = _check_removal(edges, num_remove)
    pairs = undirected_pairs(edges)  # sorted, so the row index orders ties by (u, v)
    total = max(len(pairs), 1)
    degree = np.bincount(edges[0], minlength=count).astype(np.int64)
    top = int(degree.max()) if count else 0
    first, second = pairs[:, 0].tolist(), pairs[:, 1].tolist()

    def key(index: int, du: int, dv: int) -> int:  # one int: (−min, −max, index) in order
        low, high = (du, dv) if du < dv else (dv, du)
        return ((top - low) * (top + 1) + (top - high)) * total + index

    low = np.minimum(degree[pairs[:, 0]], degree[pairs[:, 1]])
    high = np.maximum(degree[pairs[:, 0]], degree[pairs[:, 1]])
    heap = (((top - low) * (top + 1) + (top - high)) * total + np.arange(len(pairs))).tolist()
    heapq.heapify(heap)
    degrees = degree.tolist()
    alive = np.ones(len(pairs), dtype=bool)
    order = []
    while len(order) < remove:
        stored = heapq.heappop(heap)
        index = stored % total
        u, v = first[index], second[index]
        current = key(index, degrees[u], degrees[v])
        if current != stored:
            heapq.heappush(heap, current)
            continue
        order.append(index)
        alive[index] = False
        degrees[u] -= 1
        degrees[v] -= 1
    return edge_index_of(pairs[alive]), pairs[np.array(order, dtype=np.int64)].reshape(-1, 2)


def _ball(matrix: sparse.csr_matrix, seeds: list[int], radius: int) -> NDArray[np.int64]:
    """Vertices within ``radius`` hops of ``seeds`` (breadth-first on the CSR structure)."""
    seen = set(seeds)
    frontier = list(seeds)
    for _ in range(radius):
        grown = []
        for vertex in frontier:
            for other in matrix.indices[matrix.indptr[vertex]:matrix.indptr[vertex + 1]].tolist():
                if other not in seen:
                    seen.add(other)
                    grown.append(other)
        frontier = grown
    return np.array(sorted(seen), dtype=np.int64)


def _removal_effect(matrix: sparse.csr_matrix, degree: NDArray, pair: tuple[int, int],
                    depth: int) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """(vertices whose singleton walk index changes when ``pair`` is removed, their new indices).

    A closed walk of length L through v that uses the edge a–b has min(dist(v, a), dist(v, b))
    <= (L − 1)/2, and stays within L − 1 hops of {a, b}: so only the vertices of the first ball
    change, and the induced subgraph on the second one computes their new values exactly.
    """
    a, b = pair
    changed = _ball(matrix, [a, b], (depth - 1) // 2)
    region = _ball(matrix, [a, b], depth - 1)
    local = matrix[region][:, region].toarray()
    ia, ib = np.searchsorted(region, [a, b])
    local[ia, ib] = local[ib, ia] = 0
    power = np.linalg.matrix_power(local, depth)
    rows = np.searchsorted(region, changed)
    values = power[rows, rows].astype(np.int64)
    degrees = degree[changed] - np.isin(changed, [a, b])
    return changed, np.where(degrees == 0, 0, values)


def _lexicographically_larger(first: tuple, second: tuple) -> bool:
    """Whether S − R₁ + A₁ sorts lexicographically above S − R₂ + A₂, for first = (R₁, A₁) and
    second = (R₂, A₂) (removed old values, added new values): after cancelling what the two sides
    share, the side holding the smallest remaining value is the smaller tuple."""
    left = Counter(first[1].tolist()) + Counter(second[0].tolist())
    right = Counter(second[1].tolist()) + Counter(first[0].tolist())
    only_left, only_right = left - right, right - left
    if not only_left and not only_right:
        return False
    smallest_left = min(only_left) if only_left else None
    smallest_right = min(only_right) if only_right else None
    if smallest_left is None:
        return True
    if smallest_right is None:
        return False
    return smallest_right < smallest_left


def wis(edge_index: ArrayLike, num_remove: int, depth: int, *,
        chunk: int = 1) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """(depth − 1)-WIS: greedily remove the edge that keeps the sorted singleton walk indices largest.

    At each step the undirected edge is removed after whose removal the sorted vector of
    WI_{depth−1}({v}) (target v) is lexicographically largest — the smallest index is protected
    first; ties go to the smaller (u, v) (Razin, Verbin, Cohen 2023, arXiv 2211.16494). Incremental: each
    candidate's effect is computed on the ball of radius depth − 1 around it and cached; a removal
    invalidates only the candidates with an endpoint within depth − 1 hops of the removed edge.
    Candidates are compared by their changes alone, never by the full sorted vectors.

    Parameters
    ----------
    edge_index : array_like of int, shape (2, E), or torch_geometric.data.Data
    num_remove : int
        Undirected edges to remove, 0 <= num_remove <= E/2.
    depth : int
        L >= 1 of the GNN whose walk indices are protected.
    chunk : int, default 1
        Remove the ``chunk`` best-ranked edges of one ranking before ranking again (the authors'
        code uses 100 for speed); 1 is the exact greedy rule.

    Returns
    -------
    kept : ndarray of int64, shape (2, E − 2·num_remove)
    order : ndarray of int64, shape (num_remove, 2)
        The removed edges (u, v), u < v, in removal order.

    Raises
    ------
    ValueError
        Naming the argument: a bad graph, ``num_remove`` outside [0, E/2], ``depth`` < 1 or
        ``chunk`` < 1.
    """
    edges, count = check_edge_index(edge_index)
    remove = _check_removal(edges, num_remove)
    depth = positive_int(depth, "depth")
    chunk = positive_int(chunk, "chunk")
    pairs = [tuple(p) for p in undirected_pairs(edges).tolist()]
    matrix = adjacency(edges, count).tolil()
    degree = np.bincount(edges[0], minlength=count).astype(np.int64)
    current = _singleton_indices(edges, count, depth)
    alive = set(pairs)
    effects: dict[tuple[int, int], tuple] = {}
    order: list[tuple[int, int]] = []
    csr = matrix.tocsr()
    while len(order) < remove:
        changes = {}
        for pair in sorted(alive):
            if pair not in effects:
                effects[pair] = _removal_effect(csr, degree, pair, depth)
            changed, values = effects[pair]
            changes[pair] = (current[changed], values)
        batch = _best_candidates(changes, min(chunk, remove - len(order)))
        nearby: set[int] = set()
        for a, b in batch:
            nearby |= set(_ball(csr, [a, b], depth - 1).tolist())
            order.append((a, b))
            alive.discard((a, b))
            matrix[a, b] = matrix[b, a] = 0
            degree[[a, b]] -= 1
        if len(batch) == 1:
            changed, values = effects[batch[0]]
            current[changed] = values
        else:
            current = _singleton_indices(edge_index_of(np.array(sorted(alive), dtype=np.int64)
                                                        .reshape(-1, 2)), count, depth)
        csr = matrix.tocsr()
        csr.eliminate_zeros()
        effects = {p: e for p, e in effects.items()
                   if p in alive and p[0] not in nearby and p[1] not in nearby}
    kept = np.array(sorted(alive), dtype=np.int64).reshape(-1, 2)
    return edge_index_of(kept), np.array(order, dtype=np.int64).reshape(-1, 2)


def _best_candidates(changes: dict[tuple[int, int], tuple], count: int) -> list[tuple[int, int]]:
    """The ``count`` candidates whose removal leaves the lexicographically largest sorted vectors,
    best first, ties by the smaller pair (one linear scan when count = 1)."""
    def before(first: tuple[int, int], second: tuple[int, int]) -> int:
        if _lexicographically_larger(changes[first], changes[second]):
            return -1
        if _lexicographically_larger(changes[second], changes[first]):
            return 1
        return -1 if first < second else 1

    if count == 1:
        best = None
        for pair in sorted(changes):
            if best is None or before(pair, best) < 0:
                best = pair
        return [best]
    return sorted(changes, key=cmp_to_key(before))[:count]


def random_removal(edge_index: ArrayLike, num_remove: int, seed: int = 0) -> tuple[NDArray, NDArray]:
    """Baseline: remove ``num_remove`` undirected edges uniformly at random.

    Parameters
    ----------
    edge_index : array_like of int, shape (2, E), or torch_geometric.data.Data
    num_remove : int
        0 <= num_remove <= E/2.
    seed : int, default 0
        Seed of the numpy generator.

    Returns
    -------
    kept : ndarray of int64, shape (2, E − 2·num_remove)
    order : ndarray of int64, shape (num_remove, 2)

    Raises
    ------
    ValueError
        Naming the argument: a bad graph or ``num_remove`` outside [0, E/2].
    """
    edges, _ = check_edge_index(edge_index)
    remove = _check_removal(edges, num_remove)
    pairs = undirected_pairs(edges)
    chosen = np.random.default_rng(as_seed(seed)).permutation(len(pairs))[:remove]
    keep = np.ones(len(pairs), dtype=bool)
    keep[chosen] = False
    return edge_index_of(pairs[keep]), pairs[chosen]


def degree_removal(edge_index: ArrayLike, num_remove: int) -> tuple[NDArray, NDArray]:
    """Baseline: remove the edges with the largest deg u + deg v in the original graph.

    Ties go to the smaller (u, v); degrees are not updated between removals.

    Parameters
    ----------
    edge_index : array_like of int, shape (2, E), or torch_geometric.data.Data
    num_remove : int
        0 <= num_remove <= E/2.

    Returns
    -------
    kept : ndarray of int64, shape (2, E − 2·num_remove)
    order : ndarray of int64, shape (num_remove, 2)

    Raises
    ------
    ValueError
        Naming the argument: a bad graph or ``num_remove`` outside [0, E/2].
    """
    edges, count = check_edge_index(edge_index)
    remove = _check_removal(edges, num_remove)
    pairs = undirected_pairs(edges)
    degree = np.bincount(edges[0], minlength=count)
    ranking = np.lexsort((pairs[:, 1], pairs[:, 0], -(degree[pairs[:, 0]] + degree[pairs[:, 1]])))
    keep = np.ones(len(pairs), dtype=bool)
    keep[ranking[:remove]] = False
    return edge_index_of(pairs[keep]), pairs[ranking[:remove]]


def effective_resistances(edge_index: ArrayLike, *, max_nodes: int = 4000) -> tuple[NDArray, NDArray]:
    """Effective resistances R_uv = (e_u − e_v)ᵀ L⁺ (e_u − e_v) of every edge, exactly.

    Through the dense pseudo-inverse of the Laplacian L = D − A: O(n³) time, O(n²) memory. A bridge
    has R = 1; Σ_e R_e = n − (number of components).

    Parameters
    ----------
    edge_index : array_like of int, shape (2, E), or torch_geometric.data.Data
    max_nodes : int, default 4000
        Refuse larger graphs (the dense pseudo-inverse would not fit the budget).

    Returns
    -------
    pairs : ndarray of int64, shape (E/2, 2)
        The undirected edges (``undirected_pairs``).
    resistances : ndarray of float64, shape (E/2,)

    Raises
    ------
    ValueError
        A bad graph, or more than ``max_nodes`` vertices.
    """
    edges, count = check_edge_index(edge_index)
    if count > max_nodes:
        raise ValueError(f"effective_resistances is exact and dense: at most {max_nodes} vertices, "
                         f"got {count}")
    pairs = undirected_pairs(edges)
    laplacian = (sparse.diags(np.bincount(edges[0], minlength=count).astype(float))
                 - adjacency(edges, count, dtype=float) + sparse.identity(count)).toarray()
    inverse = np.linalg.pinv(laplacian, hermitian=True)
    u, v = pairs[:, 0], pairs[:, 1]
    return pairs, inverse[u, u] + inverse[v, v] - 2 * inverse[u, v]


def spectral_removal(edge_index: ArrayLike, num_remove: int) -> tuple[NDArray, NDArray]:
    """Baseline after Spielman–Srivastava: remove the ``num_remove`` edges of smallest resistance.

    Edges matter in proportion to their effective resistance R_e (computed once,
    ``effective_resistances``); ties go to the smaller (u, v).

    Parameters
    ----------
    edge_index : array_like of int, shape (2, E), or torch_geometric.data.Data
    num_remove : int
        0 <= num_remove <= E/2.

    Returns
    -------
    kept : ndarray of int64, shape (2, E − 2·num_remove)
    order : ndarray of int64, shape (num_remove, 2)

    Raises
    ------
    ValueError
        Naming the argument: a bad graph, too many vertices, or ``num_remove`` outside [0, E/2].
    """
    edges, _ = check_edge_index(edge_index)
    remove = _check_removal(edges, num_remove)
    pairs, resistance = effective_resistances(edges)
    ranking = np.lexsort((pairs[:, 1], pairs[:, 0], np.round(resistance, 12)))
    keep = np.ones(len(pairs), dtype=bool)
    keep[ranking[:remove]] = False
    return edge_index_of(pairs[keep]), pairs[ranking[:remove]]


REMOVALS = ("wis", "one_wis", "random", "degree", "spectral")


def removal_order(method: str, edge_index: ArrayLike, num_remove: int, *, depth: int = 3,
                  seed: int = 0, chunk: int = 100) -> NDArray[np.int64]:
    """The undirected edges that a removal method removes, in order.

    Prefixes of the order are the removals for smaller counts.

    Parameters
    ----------
    method : {"wis", "one_wis", "random", "degree", "spectral"}
        "wis" is the (depth − 1)-WIS with chunks of ``chunk`` removals between rankings.
    edge_index : array_like of int, shape (2, E), or torch_geometric.data.Data
    num_remove : int
        0 <= num_remove <= E/2.
    depth : int, default 3
        L of the WIS ("wis" only).
    seed : int, default 0
        Seed of the "random" baseline.
    chunk : int, default 100
        Removals per ranking of "wis".

    Returns
    -------
    ndarray of int64, shape (num_remove, 2)

    Raises
    ------
    ValueError
        An unknown ``method``, or what the chosen method raises.
    """
    if method not in REMOVALS:
        raise ValueError(f"method must be one of {REMOVALS}, got {method!r}")
    if method == "wis":
        return wis(edge_index, num_remove, depth, chunk=chunk)[1]
    if method == "random":
        return random_removal(edge_index, num_remove, seed=seed)[1]
    removal = {"one_wis": one_wis, "degree": degree_removal, "spectral": spectral_removal}[method]
    return removal(edge_index, num_remove)[1]
