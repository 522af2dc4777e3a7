"""Walk Index Sparsification (WIS) and the edge-removal baselines it is compared with.

Source: Razin, Verbin, Cohen 2023, arXiv 2211.16494 ((L−1)-WIS and its efficient
1-WIS special case). Baselines: random removal, removal by degree, and spectral
sparsification by effective resistances (Spielman–Srivastava).
"""

from __future__ import annotations

import heapq

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

    Ties go to the larger max(deg u, deg v), then to the smaller (u, v). Edges are filed in buckets by
    their key (min, max) and the buckets are taken largest key first: degrees only fall, so no edge
    ever enters the bucket being taken, and within it the edges are taken in increasing (u, v); an
    edge whose degrees fell since it was filed is re-filed under its key now (lazily, when its bucket
    comes up). 10⁶ edges, half removed: under 4 s on one core (notes/gnn.md).

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
    degree = np.bincount(edges[0], minlength=count).astype(np.int64)
    width = (int(degree.max()) if count else 0) + 1  # key = min·(Δ + 1) + max: larger ranks first
    first, second = pairs[:, 0].tolist(), pairs[:, 1].tolist()
    keys = np.minimum(degree[pairs[:, 0]], degree[pairs[:, 1]]) * width \
        + np.maximum(degree[pairs[:, 0]], degree[pairs[:, 1]])
    ranked = np.lexsort((np.arange(len(pairs)), -keys))
    bounds = np.flatnonzero(np.diff(keys[ranked], prepend=-1, append=-1)).tolist() if len(pairs) else [0]
    buckets = {int(keys[ranked[start]]): ranked[start:end].tolist()
               for start, end in zip(bounds[:-1], bounds[1:], strict=True)}
    heap = [-key for key in buckets]
    heapq.heapify(heap)
    degrees = degree.tolist()
    alive = np.ones(len(pairs), dtype=bool)
    order: list[int] = []
    while len(order) < remove:
        key = -heapq.heappop(heap)
        members = buckets.pop(key)
        members.sort()
        for index in members:
            u, v = first[index], second[index]
            du, dv = degrees[u], degrees[v]
            now = (du if du < dv else dv) * width + (dv if du < dv else du)
            if now != key:  # its degrees fell since it was filed: into its bucket now, ranked later
                if now in buckets:
                    buckets[now].append(index)
                else:
                    buckets[now] = [index]
                    heapq.heappush(heap, -now)
                continue
            order.append(index)
            alive[index] = False
            degrees[u], degrees[v] = du - 1, dv - 1
            if len(order) == remove:
                break
    return edge_index_of(pairs[alive]), pairs[np.array(order, dtype=np.int64)].reshape(-1, 2)


def _powers(edges: NDArray, num_nodes: int, depth: int) -> list[sparse.csr_matrix]:
    """Â⁰..Â^{depth−1} with sorted column indices (walk counts, int64)."""
    step = adjacency(edges, num_nodes)
    powers = [sparse.identity(num_nodes, dtype=np.int64, format="csr")]
    for _ in range(depth - 1):
        powers.append((powers[-1] @ step).tocsr())
    for power in powers:
        power.sort_indices()
    return powers


def _row_major(matrix: sparse.csr_matrix) -> tuple[NDArray[np.int64], NDArray, int]:
    """(row·n + column of every stored entry, increasing; the entries; n): ``_entries``'s table."""
    size = matrix.shape[1]
    rows = np.repeat(np.arange(matrix.shape[0], dtype=np.int64), np.diff(matrix.indptr))
    return rows * size + matrix.indices, matrix.data, size


def _entries(table: tuple[NDArray, NDArray, int], rows: NDArray, cols: NDArray) -> NDArray[np.int64]:
    """matrix[rows[i], cols[i]] for every i, by binary search in its ``_row_major`` table."""
    keys, data, size = table
    if not keys.size:
        return np.zeros(rows.shape, dtype=np.int64)
    wanted = rows * size + cols
    where = np.minimum(np.searchsorted(keys, wanted), keys.size - 1)
    return np.where(keys[where] == wanted, data[where], 0).astype(np.int64)


def _row_support(matrix: sparse.csr_matrix, rows: NDArray) -> tuple[NDArray, NDArray]:
    """(i, column) for every stored entry of the rows ``rows[i]``."""
    lengths = matrix.indptr[rows + 1] - matrix.indptr[rows]
    owner = np.repeat(np.arange(rows.size), lengths)
    offsets = np.arange(owner.size) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    return owner, matrix.indices[np.repeat(matrix.indptr[rows], lengths) + offsets]


def _removal_effects(powers: list[sparse.csr_matrix], current: NDArray, degree: NDArray,
                     first: NDArray, second: NDArray) -> tuple[NDArray, NDArray, NDArray]:
    """The singleton walk indices that change when one candidate edge a–b is removed, for many.

    Â' = Â − UVᵀ with U = [e_a, e_b], V = [e_b, e_a] (rank 2), so (Â')^L expands into words
    Â^{k₀}(−UVᵀ)Â^{k₁}⋯(−UVᵀ)Â^{k_m} whose (v, v) entries need only the walk counts (Â^k)_{av},
    (Â^k)_{bv} and the 2 × 2 blocks Vᵀ Â^k U, k < L. Summed over words by the prefix recursion
    S_ℓ = −(y_{ℓ−1} + Σ_{j<ℓ} S_j M_{ℓ−1−j}), y_k = ((Â^k)_{va}, (Â^k)_{vb}), M_k = Vᵀ Â^k U:
    (Â'^L)_vv = (Â^L)_vv + Σ_{j=1}^{L} S_j·x_{L−j}, x_k = ((Â^k)_{bv}, (Â^k)_{av}). Only the
    vertices within (L − 1)/2 hops of {a, b} can change (a closed walk of length L through v that uses
    a–b has min(dist(v, a), dist(v, b)) <= (L − 1)/2); an endpoint left without edges gets 0.

    Parameters
    ----------
    powers : list of scipy.sparse.csr_matrix, length L
        Â⁰..Â^{L−1} (``_powers``).
    current : ndarray of int64, shape (n,)
        The singleton walk indices now.
    degree : ndarray of int64, shape (n,)
        The degrees now.
    first, second : ndarray of int64, shape (C,)
        The candidates' endpoints a < b.

    Returns
    -------
    owner, vertex, value : ndarray of int64, shape (K,)
        For each changed vertex of each candidate: the candidate's position, the vertex and its new
        index; sorted by candidate, then vertex.
    """
    depth = len(powers)
    reach = powers[(depth - 1) // 2]
    owner_a, near_a = _row_support(reach, first)
    owner_b, near_b = _row_support(reach, second)
    size = current.size
    flat = np.unique(np.concatenate([owner_a * size + near_a, owner_b * size + near_b]))
    owner, vertex = flat // size, flat % size
    a, b = first[owner], second[owner]
    tables = [_row_major(p) for p in powers]
    alpha = [_entries(t, a, vertex) for t in tables]  # (Â^k)_{av} = (Â^k)_{va}
    beta = [_entries(t, b, vertex) for t in tables]
    blocks = [(_entries(t, b, a), _entries(t, b, b), _entries(t, a, a)) for t in tables]
    prefix: list[tuple[NDArray, NDArray]] = []
    for length in range(1, depth + 1):
        s1, s2 = alpha[length - 1].copy(), beta[length - 1].copy()
        for j, (t1, t2) in enumerate(prefix, start=1):
            ba, bb, aa = blocks[length - 1 - j]
            s1 += t1 * ba + t2 * aa
            s2 += t1 * bb + t2 * ba  # (Â^k)_{ab} = (Â^k)_{ba}
        prefix.append((-s1, -s2))
    value = current[vertex].copy()
    for j, (s1, s2) in enumerate(prefix, start=1):
        value += s1 * beta[depth - j] + s2 * alpha[depth - j]
    isolated = ((vertex == a) | (vertex == b)) & (degree[vertex] == 1)
    value[isolated] = 0
    changed = value != current[vertex]
    return owner[changed], vertex[changed], value[changed]


def _ranking_keys(owner: NDArray, old: NDArray, new: NDArray, candidates: int) -> list[tuple]:
    """One key per candidate that orders candidates as their sorted index vectors after removal.

    A candidate turns the multiset S into S − old + new. Two candidates' vectors first differ at the
    smallest value x whose net count D(x) = #new − #old differs, and the one holding fewer copies of
    x is larger. So each candidate's key lists (M − x, −D) for D < 0 and (x − M, −D) for D > 0 over
    its values x in increasing order, M = 2^62 above every value (``_check_exact``; one M for all
    batches, so keys computed at different steps compare), closed by (0, 0): tuple comparison of
    keys is the comparison of the vectors, without forming them.
    """
    cand = np.concatenate([owner, owner])
    values = np.concatenate([old, new])
    signs = np.concatenate([-np.ones(old.size, np.int64), np.ones(new.size, np.int64)])
    order = np.lexsort((values, cand))
    cand, values, signs = cand[order], values[order], signs[order]
    starts = np.flatnonzero(np.r_[True, (np.diff(cand) != 0) | (np.diff(values) != 0)]) \
        if cand.size else np.zeros(0, np.int64)
    net = np.add.reduceat(signs, starts) if cand.size else signs
    cand, values = cand[starts], values[starts]
    keep = net != 0
    cand, values, net = cand[keep], values[keep], net[keep]
    head = np.where(net < 0, _ABOVE - values, values - _ABOVE).tolist()
    tail = (-net).tolist()
    bounds = np.searchsorted(cand, np.arange(candidates + 1)).tolist()
    return [tuple(zip(head[bounds[i]:bounds[i + 1]], tail[bounds[i]:bounds[i + 1]], strict=True))
            + ((0, 0),)
            for i in range(candidates)]


_ABOVE = 2**62  # above every walk count that _check_exact admits; keys of all batches share it


def _check_exact(degree: NDArray, depth: int) -> None:
    """Refuse graphs whose walk counts could leave int64: every partial sum of the removal
    effects is bounded by (Δ + 2)^L (a sum of walk counts of a graph with rows summing to Δ + 2)."""
    top = int(degree.max()) if degree.size else 0
    if (top + 2) ** depth >= 2**62:
        raise ValueError(f"depth {depth} with maximum degree {top}: walk counts (Δ + 2)^depth reach "
                         "2^62 and would overflow int64; use a smaller depth")


def _effect_keys(powers: list[sparse.csr_matrix], current: NDArray, degree: NDArray,
                 pairs: NDArray, candidates: NDArray) -> tuple[list[tuple], NDArray, NDArray, NDArray]:
    """Ranking keys of ``candidates`` (rows of ``pairs``), with their changes (owner, vertex, value)."""
    owner, vertex, value = _removal_effects(powers, current, degree, pairs[candidates, 0],
                                            pairs[candidates, 1])
    return _ranking_keys(owner, current[vertex], value, candidates.size), owner, vertex, value


def _near(matrix: sparse.csr_matrix, pairs: NDArray, alive: NDArray, removed: NDArray) -> NDArray:
    """The alive candidates with an endpoint in the support of the rows of ``removed``'s endpoints."""
    _, columns = _row_support(matrix, np.unique(pairs[removed].ravel()))
    close = np.zeros(matrix.shape[0], dtype=bool)
    close[columns] = True
    return np.flatnonzero(alive & (close[pairs[:, 0]] | close[pairs[:, 1]]))


def wis(edge_index: ArrayLike, num_remove: int, depth: int, *,
        chunk: int = 1) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """(depth − 1)-WIS: greedily remove the edge that keeps the sorted singleton walk indices largest.

    At each step the undirected edge is removed after whose removal the sorted vector of
    WI_{depth−1}({v}) (target v) is lexicographically largest — the smallest index is protected
    first; ties go to the smaller (u, v) (Razin, Verbin, Cohen 2023, arXiv 2211.16494, Algorithm 1).
    Exact and incremental: a removal is the rank-2 change Â − UVᵀ of the adjacency, so every
    candidate's new indices follow from walk counts of the current graph (``_removal_effects``, all
    candidates in one batch); each candidate is ranked by a key built from its changes alone
    (``_ranking_keys``); after a removal only the candidates within depth − 1 hops of it are
    re-ranked. 10³ edges of mean degree 10 at depth 3: about 20 ms a removal (notes/gnn.md).

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
        Naming the argument: a bad graph, ``num_remove`` outside [0, E/2], ``depth`` < 1,
        ``chunk`` < 1, or a depth whose walk counts would overflow int64.
    """
    edges, count = check_edge_index(edge_index)
    remove = _check_removal(edges, num_remove)
    depth = positive_int(depth, "depth")
    chunk = positive_int(chunk, "chunk")
    pairs = undirected_pairs(edges)  # sorted: a smaller row is a smaller (u, v)
    degree = np.bincount(edges[0], minlength=count).astype(np.int64)
    _check_exact(degree, depth)
    alive = np.ones(len(pairs), dtype=bool)
    order: list[int] = []
    while len(order) < remove:
        take = min(chunk, remove - len(order))
        kept = edge_index_of(pairs[alive])
        powers, current = _powers(kept, count, depth), _singleton_indices(kept, count, depth)
        everyone = np.flatnonzero(alive)
        keys = dict(zip(everyone.tolist(), _effect_keys(powers, current, degree, pairs, everyone)[0],
                        strict=True))
        if take > 1:  # the top of one ranking (a stable sort: ties keep the smaller pair first)
            batch = sorted(keys, key=keys.__getitem__, reverse=True)[:take]
            alive[batch] = False
            np.subtract.at(degree, pairs[batch].ravel(), 1)
            order.extend(batch)
            continue
        while len(order) < remove:  # exact greedy steps, re-ranking only what a removal reaches
            best = max(keys, key=keys.__getitem__)  # the first maximum: the smaller pair
            affected = _near(powers[-1], pairs, alive, np.array([best]))
            _, vertex, value = _removal_effects(powers, current, degree, pairs[[best], 0], pairs[[best], 1])
            current[vertex] = value
            alive[best] = False
            degree[pairs[best]] -= 1
            order.append(best)
            del keys[best]
            powers = _powers(edge_index_of(pairs[alive]), count, depth)
            affected = affected[alive[affected]]
            keys.update(zip(affected.tolist(), _effect_keys(powers, current, degree, pairs, affected)[0],
                             strict=True))
    return edge_index_of(pairs[alive]), pairs[np.array(order, dtype=np.int64)].reshape(-1, 2)


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
