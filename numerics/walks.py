"""Walk indices of graph partitions and Walk Index Sparsification (WIS): importable tools.

Source: Razin, Verbin, Cohen, "On the ability of graph neural networks to model interactions between
vertices", NeurIPS 2023, arXiv 2211.16494 (CLAIMS.md §10d).

Graphs are undirected, given as a torch_geometric-style ``edge_index``: a 2×E integer array (or
tensor) holding both directions of every edge, without self-loops. Self-loops are added for the
walk counts (Â = A + I), as in the paper. For a partition (I, Iᶜ) the boundary C_I holds the
vertices of I with a neighbour in Iᶜ and those of Iᶜ with a neighbour in I; the walk index
WI_{L−1}(I) is the number of length-(L−1) walks of Â that start in C_I and end anywhere (graph
prediction) or at ``target`` (vertex prediction). Counts are exact: int64 while they provably fit,
Python integers beyond.
"""

from __future__ import annotations

import heapq
from collections import Counter
from dataclasses import dataclass
from functools import cmp_to_key

import numpy as np
import scipy.sparse as sparse
from numpy.typing import ArrayLike, NDArray

from numerics.validation import positive_int

INT64_SAFE = 2**62


def check_edge_index(edge_index: ArrayLike, num_nodes: int | None = None) -> tuple[NDArray, int]:
    """Validate an undirected ``edge_index`` (2×E, both directions, no self-loops, no repeats);
    returns it as int64 and the number of vertices (max id + 1 unless ``num_nodes`` is given)."""
    try:
        edges = np.asarray(edge_index.cpu() if hasattr(edge_index, "cpu") else edge_index)
    except (TypeError, ValueError) as err:
        raise ValueError("edge_index must be a 2×E integer array") from err
    if edges.ndim != 2 or edges.shape[0] != 2 or not np.issubdtype(edges.dtype, np.integer):
        raise ValueError(f"edge_index must be a 2×E integer array, got shape {edges.shape} and "
                         f"dtype {edges.dtype}")
    edges = edges.astype(np.int64)
    if edges.size and edges.min() < 0:
        raise ValueError("edge_index has negative vertex ids")
    count = int(edges.max()) + 1 if edges.size else 0
    if num_nodes is not None:
        if edges.size and edges.max() >= num_nodes:
            raise ValueError(f"edge_index has vertex id {int(edges.max())} >= num_nodes = {num_nodes}")
        count = num_nodes
    if np.any(edges[0] == edges[1]):
        raise ValueError("edge_index must not contain self-loops (they are added for the counts)")
    forward = np.sort(edges[0] * max(count, 1) + edges[1])
    if np.any(np.diff(forward) == 0):
        raise ValueError("edge_index contains repeated edges")
    if not np.array_equal(forward, np.sort(edges[1] * max(count, 1) + edges[0])):
        raise ValueError("edge_index must be undirected: both directions of every edge")
    return edges, count


def adjacency(edges: NDArray, num_nodes: int, dtype=np.int64) -> sparse.csr_matrix:
    """Â = A + I as a sparse CSR matrix (n×n)."""
    ones = np.ones(edges.shape[1], dtype=dtype)
    matrix = sparse.csr_matrix((ones, (edges[0], edges[1])), shape=(num_nodes, num_nodes))
    return (matrix + sparse.identity(num_nodes, dtype=dtype, format="csr")).tocsr()


def _walk_vector(matrix: sparse.csr_matrix, start: NDArray, length: int, bound: int) -> NDArray:
    """Â^length · start, exactly: int64 sparse products while ``bound`` fits, else Python ints."""
    if bound < INT64_SAFE:
        vector = start.astype(np.int64)
        for _ in range(length):
            vector = matrix @ vector
        return vector
    vector = start.astype(object)
    rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
    for _ in range(length):
        result = np.zeros(matrix.shape[0], dtype=object)
        np.add.at(result, rows, vector[matrix.indices])
        vector = result
    return vector


def boundary(edges: NDArray, num_nodes: int, part: NDArray) -> NDArray[np.bool_]:
    """C_I as a boolean mask: endpoints of the edges that cross the partition."""
    inside = np.zeros(num_nodes, dtype=bool)
    inside[part] = True
    crossing = inside[edges[0]] != inside[edges[1]]
    mask = np.zeros(num_nodes, dtype=bool)
    mask[edges[0][crossing]] = True
    return mask


def walk_index(edge_index: ArrayLike, partition: ArrayLike, depth: int, target: int | None = None,
               *, num_nodes: int | None = None, self_loops: bool = True) -> int:
    """WI_{depth−1}(I): length-(depth − 1) walks of A + I from the boundary C_I, ending anywhere
    (``target=None``) or at ``target``. ``partition``: the vertex ids of I (non-empty, distinct, a
    proper subset of the vertices). Computed by depth − 1 sparse matrix–vector products.
    ``self_loops=False`` counts walks of A instead (not the paper's definition; for comparison)."""
    edges, count = check_edge_index(edge_index, num_nodes)
    depth = positive_int(depth, "depth")
    part = np.asarray(partition)
    if part.ndim != 1 or part.size == 0 or not np.issubdtype(part.dtype, np.integer):
        raise ValueError("partition must be a non-empty 1-D array of vertex ids")
    if part.min() < 0 or part.max() >= count or np.unique(part).size != part.size:
        raise ValueError(f"partition must hold distinct vertex ids in [0, {count})")
    if part.size == count:
        raise ValueError("partition must be a proper subset of the vertices (its complement is empty)")
    start = np.ones(count, dtype=np.int64)
    if target is not None:
        if not 0 <= int(target) < count:
            raise ValueError(f"target must be a vertex id in [0, {count}), got {target}")
        start = np.zeros(count, dtype=np.int64)
        start[int(target)] = 1
    matrix = adjacency(edges, count)
    if not self_loops:
        matrix = (matrix - sparse.identity(count, dtype=np.int64, format="csr")).tocsr()
    degree = int(np.max(np.diff(matrix.indptr))) if count else 1
    bound = count * max(degree, 1) ** (depth - 1)
    walks = _walk_vector(matrix, start, depth - 1, bound)
    return int(sum(walks[boundary(edges, count, part)].tolist()))


def singleton_walk_indices(edge_index: ArrayLike, depth: int, *,
                           num_nodes: int | None = None) -> NDArray:
    """WI_{depth−1}({v}) with target v, for every vertex v: the length-(depth − 1) walks from the
    closed neighbourhood N[v] back to v, i.e. (Â^depth)_vv, and 0 for an isolated v (empty
    boundary). Computed as the diagonal of Â^depth by sparse products (never dense)."""
    edges, count = check_edge_index(edge_index, num_nodes)
    depth = positive_int(depth, "depth")
    return _singleton_indices(edges, count, depth)


def _singleton_indices(edges: NDArray, count: int, depth: int) -> NDArray[np.int64]:
    matrix = adjacency(edges, count)
    half = matrix
    for _ in range(depth // 2 - 1):
        half = half @ matrix
    if depth == 1:
        diagonal = matrix.diagonal()
    elif depth % 2 == 0:  # diag(H Hᵀ) with H = Â^{depth/2} symmetric
        diagonal = np.asarray(half.multiply(half).sum(axis=1)).ravel()
    else:  # diag(H Â H) = Σ_u (HÂ)_vu H_uv
        diagonal = np.asarray((half @ matrix).multiply(half).sum(axis=1)).ravel()
    isolated = np.bincount(edges[0], minlength=count) == 0
    return np.where(isolated, 0, diagonal).astype(np.int64)


def undirected_pairs(edges: NDArray) -> NDArray[np.int64]:
    """The E/2 undirected edges as sorted pairs (u < v), in lexicographic order, shape (E/2, 2)."""
    pairs = edges[:, edges[0] < edges[1]].T
    return pairs[np.lexsort((pairs[:, 1], pairs[:, 0]))]


def edge_index_of(pairs: ArrayLike) -> NDArray[np.int64]:
    """A torch_geometric edge_index (2×2k, both directions) from k undirected pairs (k, 2)."""
    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    return np.concatenate([pairs.T, pairs[:, ::-1].T], axis=1) if len(pairs) else np.zeros((2, 0),
                                                                                          np.int64)


def _check_removal(edges: NDArray, num_remove: int) -> int:
    total = edges.shape[1] // 2
    count = positive_int(num_remove, "num_remove", minimum=0)
    if count > total:
        raise ValueError(f"num_remove must be at most {total} (the undirected edges), got {count}")
    return count


def one_wis(edge_index: ArrayLike, num_remove: int) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """1-WIS: repeatedly remove the undirected edge maximizing min(deg u, deg v), ties broken by
    the larger max(deg u, deg v), then by the smaller (u, v). Returns (kept edge_index with both
    directions, removal order as an (num_remove, 2) array of (u, v), u < v).

    A heap of keys (−min deg, −max deg, (u, v)) packed into one integer, with lazy re-keying:
    degrees only fall, so a stored key never ranks above the true one; an entry popped with a stale
    key is pushed back with its current key, and one popped with a current key is the true maximum
    (ties included). 1e6 edges, half removed: 12 s on one core (the note).
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
    """(depth − 1)-WIS: repeatedly remove the undirected edge after whose removal the sorted vector
    of singleton walk indices WI_{depth−1}({v}) (target v) is lexicographically largest — the
    smallest index is protected first; ties go to the smaller (u, v). Returns (kept edge_index,
    removal order (num_remove, 2)). ``chunk`` > 1 removes the ``chunk`` best-ranked edges of one
    ranking before ranking again (the authors' code uses chunks of 100 for speed; chunk = 1 is the
    exact greedy rule).

    Incremental: each candidate's effect is computed on the ball of radius depth − 1 around it
    (``_removal_effect``) and cached; a removal invalidates only the candidates with an endpoint
    within depth − 1 hops of the removed edge (the others' regions do not contain it). Candidates
    are compared by their changes alone (``_lexicographically_larger``), never by the full sorted
    vectors.
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
    """Baseline: remove ``num_remove`` undirected edges uniformly at random (seeded)."""
    edges, _ = check_edge_index(edge_index)
    remove = _check_removal(edges, num_remove)
    pairs = undirected_pairs(edges)
    chosen = np.random.default_rng(seed).permutation(len(pairs))[:remove]
    keep = np.ones(len(pairs), dtype=bool)
    keep[chosen] = False
    return edge_index_of(pairs[keep]), pairs[chosen]


def degree_removal(edge_index: ArrayLike, num_remove: int) -> tuple[NDArray, NDArray]:
    """Baseline: remove the edges with the largest deg u + deg v in the original graph (ties by
    (u, v)), without updating degrees."""
    edges, count = check_edge_index(edge_index)
    remove = _check_removal(edges, num_remove)
    pairs = undirected_pairs(edges)
    degree = np.bincount(edges[0], minlength=count)
    ranking = np.lexsort((pairs[:, 1], pairs[:, 0], -(degree[pairs[:, 0]] + degree[pairs[:, 1]])))
    keep = np.ones(len(pairs), dtype=bool)
    keep[ranking[:remove]] = False
    return edge_index_of(pairs[keep]), pairs[ranking[:remove]]


def effective_resistances(edge_index: ArrayLike, *, max_nodes: int = 4000) -> tuple[NDArray, NDArray]:
    """(undirected pairs (E/2, 2), their effective resistances R_uv = (e_u − e_v)ᵀL⁺(e_u − e_v)),
    exactly, through the dense pseudo-inverse of the Laplacian L = D − A (n <= ``max_nodes``:
    O(n³) time, O(n²) memory). A bridge has R = 1; Σ_e R_e = n − (number of components)."""
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
    """Baseline after Spielman–Srivastava: edges matter in proportion to their effective resistance,
    so remove the ``num_remove`` edges of smallest R_e (ties by (u, v)), computed once."""
    edges, _ = check_edge_index(edge_index)
    remove = _check_removal(edges, num_remove)
    pairs, resistance = effective_resistances(edges)
    ranking = np.lexsort((pairs[:, 1], pairs[:, 0], np.round(resistance, 12)))
    keep = np.ones(len(pairs), dtype=bool)
    keep[ranking[:remove]] = False
    return edge_index_of(pairs[keep]), pairs[ranking[:remove]]


# ---- separation rank of product-aggregation GNNs (grid tensors) -------------------------------------

PRIME = 1_000_000_007  # < 2^30: a product of two residues and a sum of 8 such fit in int64


@dataclass(frozen=True)
class ProductGNN:
    """A GNN with product aggregation (the architecture of theory.separation):
    h⁽⁰⁾_i = x_i, h⁽ˡ⁾_i = ⊙_{j∈N[i]} W⁽ˡ⁾h⁽ˡ⁻¹⁾_j, output ⟨readout, h⁽ᴸ⁾_t⟩ or ⟨readout, ⊙_i h⁽ᴸ⁾_i⟩.
    ``weights``: W⁽¹⁾ (D_h×D_x), then L − 1 matrices D_h×D_h; ``readout``: (D_h,)."""

    weights: tuple[NDArray, ...]
    readout: NDArray


def random_product_gnn(depth: int, hidden: int, features: int, seed: int) -> ProductGNN:
    """Integer weights drawn uniformly from {±1, ±2, ±3} (seeded), so that exact arithmetic is
    possible. No entry is zero and the square weights are redrawn until invertible: a singular W
    (e.g. rank one, W = uvᵀ) makes ⊙_j W h_j separable and the rank collapse for a trivial reason;
    the lower bounds concern almost all weights, which integer draws only approximate."""
    depth, hidden = positive_int(depth, "depth"), positive_int(hidden, "hidden")
    features = positive_int(features, "features")
    rng = np.random.default_rng(seed)

    def draw(*shape: int) -> NDArray[np.int64]:
        return rng.choice(np.array([-3, -2, -1, 1, 2, 3]), size=shape)

    def invertible() -> NDArray[np.int64]:
        while True:
            matrix = draw(hidden, hidden)
            if round(abs(np.linalg.det(matrix))) > 0:
                return matrix

    weights = (draw(hidden, features), *(invertible() for _ in range(depth - 1)))
    return ProductGNN(weights, draw(hidden))


def product_gnn(features: ArrayLike, edge_index: ArrayLike, gnn: ProductGNN, target: int | None = None,
                *, modulus: int | None = None) -> NDArray:
    """Outputs of ``gnn`` on a batch of vertex features (B, n, D_x) → (B,): in float64, or exactly in
    the integers mod ``modulus`` (a prime < 2^30) for integer features and weights."""
    batch = np.asarray(features)
    if batch.ndim != 3:
        raise ValueError(f"features must have shape (batch, nodes, dim), got {batch.shape}")
    edges, count = check_edge_index(edge_index, batch.shape[1])
    if gnn.weights[0].shape[1] != batch.shape[2]:
        raise ValueError(f"features have dim {batch.shape[2]}, the first weight expects "
                         f"{gnn.weights[0].shape[1]}")
    if target is not None and not 0 <= target < count:
        raise ValueError(f"target must be a vertex id in [0, {count}), got {target}")
    if modulus is not None:
        if not (0 < modulus < 2**30) or not np.issubdtype(batch.dtype, np.integer):
            raise ValueError("modulus needs integer features and 0 < modulus < 2^30")
        reduce = lambda a: a % modulus  # noqa: E731
        batch = batch.astype(np.int64) % modulus
    else:
        reduce = lambda a: a  # noqa: E731
        batch = batch.astype(float)
    closed = [np.append(edges[1][edges[0] == i], i) for i in range(count)]

    def product(values: NDArray, axis: int) -> NDArray:
        out = np.take(values, 0, axis=axis)
        for k in range(1, values.shape[axis]):
            out = reduce(out * np.take(values, k, axis=axis))
        return out

    def linear(values: NDArray, weight: NDArray) -> NDArray:
        """values (..., D_in) @ weightᵀ (D_out, D_in), one input coordinate at a time so that
        residues stay below 2^61 between reductions."""
        out = np.zeros(values.shape[:-1] + (weight.shape[0],), dtype=values.dtype)
        for d in range(weight.shape[1]):
            out = reduce(out + reduce(values[..., d:d + 1] * reduce(weight[:, d].astype(values.dtype))))
        return out

    hidden = batch
    for weight in gnn.weights:
        mixed = linear(hidden, weight)
        hidden = np.stack([product(mixed[:, nbrs, :], 1) for nbrs in closed], axis=1)
    final = hidden[:, target, :] if target is not None else product(hidden, 1)
    return linear(final, gnn.readout[None, :])[:, 0]


def grid_tensor(edge_index: ArrayLike, gnn: ProductGNN, templates: ArrayLike, target: int | None = None,
                *, num_nodes: int | None = None, modulus: int | None = None,
                max_entries: int = 2_000_000) -> NDArray:
    """The grid tensor T[i_1, …, i_n] = f(x⁽ⁱ¹⁾, …, x⁽ⁱⁿ⁾) over M template features (M, D_x) per
    vertex: an order-n tensor of shape (M,)*n. Any matricization's rank is a lower bound on the
    separation rank (Cohen & Shashua's grid-tensor argument)."""
    _, count = check_edge_index(edge_index, num_nodes)
    grid = np.asarray(templates)
    if grid.ndim != 2:
        raise ValueError(f"templates must have shape (M, D_x), got {grid.shape}")
    if grid.shape[0] ** count > max_entries:
        raise ValueError(f"the grid tensor has M^n = {grid.shape[0]}^{count} entries, more than "
                         f"max_entries = {max_entries}")
    choice = np.stack(np.meshgrid(*[np.arange(grid.shape[0])] * count, indexing="ij"), -1)
    values = product_gnn(grid[choice.reshape(-1, count)], edge_index, gnn, target, modulus=modulus)
    return values.reshape((grid.shape[0],) * count)


def _matricize(tensor: NDArray, partition: ArrayLike) -> NDArray:
    part = np.asarray(partition)
    if part.ndim != 1 or part.size == 0 or part.size >= tensor.ndim or np.unique(part).size != part.size \
            or part.min() < 0 or part.max() >= tensor.ndim:
        raise ValueError(f"partition must be a non-empty proper subset of the {tensor.ndim} modes")
    rest = [m for m in range(tensor.ndim) if m not in set(part.tolist())]
    rows = int(np.prod([tensor.shape[m] for m in part]))
    return np.transpose(tensor, [*part.tolist(), *rest]).reshape(rows, -1)


def rank_mod(matrix: NDArray, modulus: int = PRIME) -> int:
    """Rank over the field of integers mod a prime < 2^30 (Gaussian elimination, exact). For an
    integer matrix it is <= the rank over ℚ, with equality unless the prime divides every maximal
    non-vanishing minor."""
    work = np.asarray(matrix, dtype=np.int64) % modulus
    rank = 0
    for column in range(work.shape[1]):
        pivots = np.nonzero(work[rank:, column])[0]
        if pivots.size == 0:
            continue
        pivot = rank + pivots[0]
        work[[rank, pivot]] = work[[pivot, rank]]
        work[rank] = work[rank] * pow(int(work[rank, column]), modulus - 2, modulus) % modulus
        factors = work[:, column].copy()
        factors[rank] = 0
        work = (work - factors[:, None] * work[rank] % modulus) % modulus
        rank += 1
        if rank == work.shape[0]:
            break
    return rank


def separation_rank(tensor: ArrayLike, partition: ArrayLike, *, tol: float = 1e-9,
                    modulus: int | None = None) -> int:
    """Rank of the matricization of a grid tensor with rows indexed by the modes in ``partition``:
    numerically (singular values > tol·σ₁ of the float64 matrix), or exactly mod ``modulus`` for a
    grid tensor computed mod that prime."""
    matrix = _matricize(np.asarray(tensor), partition)
    if modulus is not None:
        return rank_mod(matrix, modulus)
    values = np.linalg.svd(matrix.astype(float), compute_uv=False)
    return int(np.sum(values > tol * values[0])) if values[0] > 0 else 0


# ---- a vertex-prediction task on a degree-corrected SBM, and a GCN to learn it ---------------------

@dataclass(frozen=True)
class GraphTask:
    """``edge_index`` 2×E, labels (n,) in {0, 1}, ``block`` (n,) in {0, 1} and the raw feature ``z``
    (n,); the GCN's input features depend on the graph it is given (``task_features``)."""

    edge_index: NDArray
    labels: NDArray
    block: NDArray
    z: NDArray


LABELS = ("sum", "reach")


def interaction_sbm(num_nodes: int, seed: int, *, label: str = "sum", hops: int = 1,
                    active: float | None = None, degree_in: float = 2.0, degree_out: float = 1.0,
                    tail: float = 2.5) -> GraphTask:
    """A two-block degree-corrected stochastic block model and labels that need interactions.

    Vertex v gets a weight θ_v ~ 1 + Pareto(``tail``) (normalized to mean 1: hubs and many
    low-degree vertices) and a block v mod 2; edge u–v is present with probability
    min(1, θ_uθ_v·c/(n/2)), c = ``degree_in`` within a block and ``degree_out`` across. Labels:

    - ``label="sum"``: features z_v ~ N(0, 1), label 1{z_v + Σ_{u∈N(v)} z_u > 0} — a threshold of
      a sum, which no product g(x_v)·h(x_rest) gives (separation rank > 1 with respect to
      ({v}, rest)); a vertex that loses k of its d edges keeps a correlation √((d + 1 − k)/(d + 1))
      with its label.
    - ``label="reach"``: features b_v ~ Bernoulli(``active``), label 1{an active vertex within
      ``hops`` of v} = 1 − Π_{dist(u, v) <= hops}(1 − b_u) (``reach_labels``): a product across
      ({v}, rest) over the ball of radius ``hops``. By default ``active`` = 1 − 2^{−1/m̄} with m̄
      the mean ball size, which would balance the labels if every ball had m̄ vertices.

    The graph and z do not depend on ``label``: the tasks of one seed share their graph.
    Deterministic in ``seed``; ``z`` of the returned task holds the features (z or b)."""
    num_nodes = positive_int(num_nodes, "num_nodes", minimum=4)
    if label not in LABELS:
        raise ValueError(f"label must be one of {LABELS}, got {label!r}")
    hops = positive_int(hops, "hops")
    if label == "sum" and hops != 1:
        raise ValueError(f"hops applies to label='reach' only (the sum is over N(v)), got hops={hops}")
    rng = np.random.default_rng(seed)
    block = np.arange(num_nodes) % 2
    theta = rng.pareto(tail, num_nodes) + 1.0
    theta /= theta.mean()
    u, v = np.triu_indices(num_nodes, 1)
    rate = np.where(block[u] == block[v], degree_in, degree_out) / (num_nodes / 2)
    present = rng.random(u.size) < np.minimum(1.0, theta[u] * theta[v] * rate)
    pairs = np.stack([u[present], v[present]])
    edge_index = np.concatenate([pairs, pairs[::-1]], axis=1)
    z = rng.standard_normal(num_nodes)
    if label == "sum":
        signal = z.copy()
        np.add.at(signal, edge_index[0], z[edge_index[1]])
        return GraphTask(edge_index, (signal > 0).astype(np.int64), block, z)
    balls = _balls(edge_index, hops, num_nodes)
    if active is None:
        active = 1.0 - 2.0 ** (-1.0 / float(balls.sum() / num_nodes))
    elif not 0.0 < active < 1.0:
        raise ValueError(f"active must be a probability in (0, 1), got {active}")
    b = (rng.random(num_nodes) < active).astype(float)
    return GraphTask(edge_index, _reached(balls, b), block, b)


def _balls(edge_index: ArrayLike, hops: int, num_nodes: int | None) -> sparse.csr_matrix:
    """Boolean (n, n) sparse matrix: u within ``hops`` of v (closed balls)."""
    edges, count = check_edge_index(edge_index, num_nodes)
    step = sparse.csr_matrix((np.ones(edges.shape[1], dtype=bool), (edges[0], edges[1])),
                             shape=(count, count)) + sparse.eye(count, dtype=bool, format="csr")
    reach = sparse.eye(count, dtype=bool, format="csr")
    for _ in range(positive_int(hops, "hops")):
        reach = reach @ step
    return reach


def ball_sizes(edge_index: ArrayLike, hops: int, *, num_nodes: int | None = None) -> NDArray[np.int64]:
    """|{u : dist(u, v) <= hops}| for every vertex v (v included), by boolean sparse products."""
    return np.asarray(_balls(edge_index, hops, num_nodes).sum(axis=1)).ravel().astype(np.int64)


def reach_labels(edge_index: ArrayLike, active: ArrayLike, hops: int) -> NDArray[np.int64]:
    """1{some u with active_u = 1 lies within ``hops`` of v} for every vertex v of the graph
    (active (n,) in {0, 1}; n fixes the number of vertices, isolated ones included)."""
    flags = np.asarray(active)
    if flags.ndim != 1 or not np.all((flags == 0) | (flags == 1)):
        raise ValueError(f"active must be a 0/1 vector, one entry per vertex, got shape {flags.shape}")
    return _reached(_balls(edge_index, hops, flags.size), flags)


def _reached(balls: sparse.csr_matrix, active: NDArray) -> NDArray[np.int64]:
    """1{the ball of v holds an active vertex} from the boolean ball matrix (``_balls``)."""
    return np.asarray(balls @ active.astype(bool)).ravel().astype(np.int64)


def task_features(z: NDArray, block: NDArray, edge_index: NDArray) -> NDArray:
    """[z_v·√(d_v + 1), 1{block 0}, 1{block 1}] with d_v the degree in ``edge_index`` (the graph
    the GCN sees): GCN's propagation D̂^{-1/2}ÂD̂^{-1/2} then sums z over N[v], up to the factor
    1/√(d_v + 1), so one layer can read the label's sum off the graph it is given."""
    degree = np.bincount(edge_index[0], minlength=z.size)
    return np.stack([z * np.sqrt(degree + 1.0), block == 0, block == 1], axis=1).astype(float)


REMOVALS = ("wis", "one_wis", "random", "degree", "spectral")


def removal_order(method: str, edge_index: ArrayLike, num_remove: int, *, depth: int = 3,
                  seed: int = 0, chunk: int = 100) -> NDArray[np.int64]:
    """The undirected edges (num_remove, 2) that ``method`` removes, in order: "wis" is the
    (depth − 1)-WIS with the paper's chunks of ``chunk`` removals between rankings, "one_wis",
    "random" (``seed``), "degree", "spectral". Prefixes are the removals for smaller counts."""
    if method not in REMOVALS:
        raise ValueError(f"method must be one of {REMOVALS}, got {method!r}")
    if method == "wis":
        return wis(edge_index, num_remove, depth, chunk=chunk)[1]
    if method == "random":
        return random_removal(edge_index, num_remove, seed=seed)[1]
    removal = {"one_wis": one_wis, "degree": degree_removal, "spectral": spectral_removal}[method]
    return removal(edge_index, num_remove)[1]


def without(edge_index: ArrayLike, removed: ArrayLike) -> NDArray[np.int64]:
    """``edge_index`` minus the undirected edges in ``removed`` (k, 2), both directions."""
    edges, count = check_edge_index(edge_index)
    gone = np.asarray(removed, dtype=np.int64).reshape(-1, 2)
    keys = np.minimum(edges[0], edges[1]) * count + np.maximum(edges[0], edges[1])
    drop = np.minimum(gone[:, 0], gone[:, 1]) * count + np.maximum(gone[:, 0], gone[:, 1])
    return edges[:, ~np.isin(keys, drop)]


def gcn_accuracy(task: GraphTask, edge_index: ArrayLike, train: ArrayLike, test: ArrayLike, *,
                 seed: int, depth: int = 3, hidden: int = 64, epochs: int = 300, lr: float = 0.01,
                 weight_decay: float = 5e-4) -> float:
    """Test accuracy of a depth-``depth`` GCN (torch_geometric GCNConv, ReLU, float64) trained
    full-batch with Adam on the ``train`` vertices of ``task`` over the graph ``edge_index`` (the
    features are recomputed for that graph, ``task_features``)."""
    import torch
    from torch_geometric.nn import GCNConv

    depth, hidden = positive_int(depth, "depth"), positive_int(hidden, "hidden")
    graph, _ = check_edge_index(edge_index, task.z.size)
    x, edges = torch.as_tensor(task_features(task.z, task.block, graph)), torch.as_tensor(graph)
    torch.manual_seed(seed)
    sizes = [x.shape[1], *[hidden] * (depth - 1), 2]
    layers = torch.nn.ModuleList([GCNConv(a, b) for a, b in zip(sizes, sizes[1:], strict=False)]).double()
    optimizer = torch.optim.Adam(layers.parameters(), lr=lr, weight_decay=weight_decay)
    labels = torch.as_tensor(task.labels)
    train, test = torch.as_tensor(np.asarray(train)), torch.as_tensor(np.asarray(test))

    def forward() -> torch.Tensor:
        h = x
        for k, layer in enumerate(layers):
            h = layer(h, edges)
            h = torch.relu(h) if k < depth - 1 else h
        return h

    for _ in range(epochs):
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(forward()[train], labels[train]).backward()
        optimizer.step()
    with torch.no_grad():
        return float((forward()[test].argmax(1) == labels[test]).double().mean())
