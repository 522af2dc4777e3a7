"""Product-aggregation GNNs, their grid tensors and exact separation ranks over F_p.

The architecture of Razin, Verbin, Cohen 2023 (arXiv 2211.16494): h⁽⁰⁾_i = x_i,
h⁽ˡ⁾_i = ⊙_{j∈N[i]} W⁽ˡ⁾h⁽ˡ⁻¹⁾_j. Grid tensors evaluate the network on every assignment of template
features to vertices; their matricization ranks, computed exactly modulo a prime, lower-bound the
separation rank that ``rankcheck.theory.gnn`` bounds by the walk index.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from rankcheck.numerics.gnn.graphs import check_edge_index
from rankcheck.validation import as_array, as_seed, positive_int

__all__ = [
    "PRIME", "ProductGNN", "random_product_gnn", "product_gnn", "grid_tensor", "rank_mod", "is_prime",
    "check_modulus", "INT64_MODULUS", "MAX_PRIME",
    "separation_rank"
]

PRIME = 1_000_000_007  # < 2^30: a product of two residues and a sum of 8 such fit in int64


@dataclass(frozen=True)
class ProductGNN:
    """A GNN with product aggregation, the architecture of ``rankcheck.theory.gnn``.

    h⁽⁰⁾_i = x_i, h⁽ˡ⁾_i = ⊙_{j∈N[i]} W⁽ˡ⁾h⁽ˡ⁻¹⁾_j; the output is ⟨readout, h⁽ᴸ⁾_t⟩ (vertex
    prediction at t) or ⟨readout, ⊙_i h⁽ᴸ⁾_i⟩ (graph prediction).

    Attributes
    ----------
    weights : tuple of ndarray
        W⁽¹⁾ of shape (D_h, D_x), then L − 1 matrices of shape (D_h, D_h).
    readout : ndarray, shape (D_h,)
    """

    weights: tuple[NDArray, ...]
    readout: NDArray


def random_product_gnn(depth: int, hidden: int, features: int, seed: int) -> ProductGNN:
    """A product GNN with integer weights drawn uniformly from {±1, ±2, ±3}, so that exact arithmetic
    is possible.

    No entry is zero and the square weights are redrawn until invertible: a singular W (e.g. rank
    one, W = uvᵀ) makes ⊙_j W h_j separable and the rank collapse for a trivial reason; the lower
    bounds concern almost all weights, which integer draws only approximate.

    Parameters
    ----------
    depth : int
        L >= 1.
    hidden : int
        D_h >= 1.
    features : int
        D_x >= 1.
    seed : int
        Seed of the numpy generator.

    Returns
    -------
    ProductGNN

    Raises
    ------
    ValueError
        Naming the argument when a size is not a positive integer.
    """
    depth, hidden = positive_int(depth, "depth"), positive_int(hidden, "hidden")
    features = positive_int(features, "features")
    rng = np.random.default_rng(as_seed(seed))

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
    """Outputs of a product GNN on a batch of vertex features.

    In float64, or exactly in the integers mod ``modulus`` for integer features and weights.

    Parameters
    ----------
    features : array_like, shape (B, n, D_x)
    edge_index : array_like of int, shape (2, E), or torch_geometric.data.Data
    gnn : ProductGNN
    target : int, optional
        The vertex predicted at; None for graph prediction.
    modulus : int, optional
        A prime < 2³⁰ for exact arithmetic (``PRIME`` is one).

    Returns
    -------
    ndarray, shape (B,)
        float64, or int64 residues with ``modulus``.

    Raises
    ------
    ValueError
        Naming the argument: features of the wrong shape or dimension, a ``target`` outside
        [0, n), or a ``modulus`` with non-integer features or outside (0, 2³⁰).
    """
    batch = np.asarray(as_array(features))
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
    """The grid tensor T[i_1, …, i_n] = f(x⁽ⁱ¹⁾, …, x⁽ⁱⁿ⁾) of a product GNN over M template features.

    Any matricization's rank is a lower bound on the separation rank (Cohen & Shashua's grid-tensor
    argument), which ``rankcheck.theory.gnn`` bounds by the walk index.

    Parameters
    ----------
    edge_index : array_like of int, shape (2, E), or torch_geometric.data.Data
    gnn : ProductGNN
    templates : array_like, shape (M, D_x)
        The features each vertex takes in turn.
    target : int, optional
        The vertex predicted at; None for graph prediction.
    num_nodes : int, optional
        n (default: the largest id + 1).
    modulus : int, optional
        A prime < 2³⁰ for exact arithmetic.
    max_entries : int, default 2 000 000
        Refuse a tensor with more than this many entries (M^n).

    Returns
    -------
    ndarray, shape (M,) * n

    Raises
    ------
    ValueError
        Templates of the wrong shape, or M^n > ``max_entries``.
    """
    _, count = check_edge_index(edge_index, num_nodes)
    grid = np.asarray(as_array(templates))
    if grid.ndim != 2:
        raise ValueError(f"templates must have shape (M, D_x), got {grid.shape}")
    if grid.shape[0] ** count > max_entries:
        raise ValueError(f"the grid tensor has M^n = {grid.shape[0]}^{count} entries, more than "
                         f"max_entries = {max_entries}")
    choice = np.stack(np.meshgrid(*[np.arange(grid.shape[0])] * count, indexing="ij"), -1)
    values = product_gnn(grid[choice.reshape(-1, count)], edge_index, gnn, target, modulus=modulus)
    return values.reshape((grid.shape[0],) * count)


def _matricize(tensor: NDArray, partition: ArrayLike) -> NDArray:
    part = np.asarray(as_array(partition))
    if part.ndim != 1 or part.size == 0 or part.size >= tensor.ndim or np.unique(part).size != part.size \
            or part.min() < 0 or part.max() >= tensor.ndim:
        raise ValueError(f"partition must be a non-empty proper subset of the {tensor.ndim} modes")
    rest = [m for m in range(tensor.ndim) if m not in set(part.tolist())]
    rows = int(np.prod([tensor.shape[m] for m in part]))
    return np.transpose(tensor, [*part.tolist(), *rest]).reshape(rows, -1)


#: moduli below this take the int64 path (a product of two residues fits); larger primes, up to
#: ``MAX_PRIME``, are eliminated exactly in Python integers
INT64_MODULUS = 2**31
MAX_PRIME = 2**64
#: Miller–Rabin with these bases is deterministic below 3.3·10²⁴ > MAX_PRIME
_WITNESSES = (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37)


def is_prime(n: int) -> bool:
    """Whether an integer below 2⁶⁴ is prime (deterministic Miller–Rabin).

    Parameters
    ----------
    n : int

    Returns
    -------
    bool
    """
    if n < 2:
        return False
    for p in _WITNESSES:
        if n % p == 0:
            return n == p
    d, s = n - 1, 0
    while d % 2 == 0:
        d, s = d // 2, s + 1
    for a in _WITNESSES:
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = x * x % n
            if x == n - 1:
                break
        else:
            return False
    return True


def check_modulus(modulus: object, name: str = "modulus") -> int:
    """Return ``modulus`` as an int if it is a prime below 2⁶⁴, the moduli ranks are exact for.

    Parameters
    ----------
    modulus : object
    name : str, default "modulus"
        The argument's name, used in the error message.

    Returns
    -------
    int

    Raises
    ------
    ValueError
        Naming ``name`` when it is not an integer, not prime (the integers mod a composite are
        no field: a rank there is not defined by elimination), or not below 2⁶⁴.
    """
    value = positive_int(modulus, name, minimum=2)
    if value >= MAX_PRIME:
        raise ValueError(f"{name} must be a prime below 2^64 (exact primality), got {value}")
    if not is_prime(value):
        raise ValueError(f"{name} must be prime: the integers mod {value} are not a field, so "
                         "Gaussian elimination gives no rank")
    return value


def _integer_matrix(matrix: ArrayLike) -> NDArray:
    """``matrix`` as a 2-D array of exact integers: int64, or Python ints (object) beyond int64."""
    array = np.asarray(as_array(matrix))
    if array.ndim != 2:
        raise ValueError(f"matrix must be a 2-D integer matrix, got shape {array.shape}")
    if array.dtype == object:
        if not all(isinstance(v, int) and not isinstance(v, bool) or isinstance(v, np.integer)
                   for v in array.flat):
            raise ValueError("matrix must hold integers only")
        return array
    if np.issubdtype(array.dtype, np.integer):
        return array.astype(np.int64)
    if np.issubdtype(array.dtype, np.floating) and np.all(np.isfinite(array)) \
            and np.array_equal(array, np.round(array)) and np.all(np.abs(array) < 2**53):
        return array.astype(np.int64)  # integral floats below 2^53 are exact integers
    raise ValueError(f"matrix must hold integers (exact arithmetic), got dtype {array.dtype}")


def rank_mod(matrix: ArrayLike, modulus: int = PRIME) -> int:
    """Rank of an integer matrix over the field of integers mod a prime, by exact Gaussian elimination.

    For an integer matrix it is at most the rank over ℚ, with equality unless the prime divides
    every maximal non-vanishing minor. Primes below 2³¹ use int64 arithmetic (a product of two
    residues fits); larger ones, up to 2⁶⁴, Python integers — exact either way.

    Parameters
    ----------
    matrix : array_like of int, shape (m, n)
        Integers (int64, Python ints beyond int64, or integral floats below 2⁵³).
    modulus : int, default PRIME
        A prime below 2⁶⁴.

    Returns
    -------
    int

    Raises
    ------
    ValueError
        Naming the argument: a ``modulus`` that is not a prime below 2⁶⁴, a ``matrix`` that is not
        a 2-D array of integers.
    """
    modulus = check_modulus(modulus)
    entries = _integer_matrix(matrix)
    if modulus < INT64_MODULUS and entries.dtype != object:
        work = entries % modulus
    else:
        work = np.array([[int(v) % modulus for v in row] for row in entries], dtype=object)
        work = work.reshape(entries.shape)
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
    """Rank of the matricization of a grid tensor with rows indexed by the modes in ``partition``.

    Parameters
    ----------
    tensor : array_like, shape (M,) * n
    partition : array_like of int, shape (k,)
        The modes (vertices) of I.
    tol : float, default 1e-9
        Numerical rank: singular values > tol·σ₁ of the float64 matrix.
    modulus : int, optional
        Exact rank mod this prime, for a grid tensor computed mod that prime.

    Returns
    -------
    int

    Raises
    ------
    ValueError
        When ``partition`` is not a non-empty proper subset of the tensor's modes.
    """
    matrix = _matricize(np.asarray(as_array(tensor)), partition)
    if modulus is not None:
        return rank_mod(matrix, modulus)
    values = np.linalg.svd(matrix.astype(float), compute_uv=False)
    return int(np.sum(values > tol * values[0])) if values[0] > 0 else 0
