"""Carathéodory reduction of a layer: at most N(N+1) neurons with the same covariances.

Source: Jacot, Golikov, Hongler, Gabriel 2022, arXiv 2205.15809 (the cone of the pairs
(K̃, K) and the width bound). The reduction is exact: a conic Carathéodory step on the neurons'
rank-one generators, by a simplex-like crossover and a final non-negative least-squares polish.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg as sl
import torch
from numpy.typing import ArrayLike, NDArray

from rankcheck.errors import NotConvergedError
from rankcheck.numerics.cone.covariances import (
    _append_ones,
    _layers,
    _rank_cut,
    activation_function,
    activations,
    least_norm_weights,
)
from rankcheck.numerics.networks import MODULES, mlp, regularized_loss  # noqa: F401  (re-exported)
from rankcheck.validation import as_matrix, as_vector, positive_int

__all__ = ["conic_caratheodory", "cone_generators", "Reduction", "caratheodory_reduce", "reduce_network"]

def conic_caratheodory(G: ArrayLike, weights: ArrayLike, *, block: int = 1024) -> NDArray[np.float64]:
    """Carathéodory's theorem for cones, constructively: c >= 0 with G c = G·weights and at most
    rank(G) non-zeros.

    Method: a basis B of rank(G) columns (pivoted QR) and a sweep over the other columns j, as in the
    crossover step of a simplex method: with Bα = g_j the vector (α on B, −1 at j) is in the null
    space of G; moving the weights along it until one of them hits zero either drops j or swaps it
    into the basis for the column that dropped (a pivot). Columns go in blocks: α for a block is one
    LU solve B⁻¹G_J, and the pivots inside a block update the rest of it through the product form of
    the inverse, 32 pivots per matrix product. Cost O(n·r² + r³·n/block) for rank r. Exact linear
    algebra: the only tolerance is the numerical rank.

    Parameters
    ----------
    G : array_like, shape (D, n)
        One generator per column.
    weights : array_like, shape (n,)
        Non-negative starting weights.
    block : int, default 1024
        Columns per LU solve.

    Returns
    -------
    ndarray of float64, shape (n,)
        c >= 0 with at most rank(G) non-zeros.

    Raises
    ------
    ValueError
        Naming the argument: a non-finite ``G``, ``weights`` of another length or with a negative
        entry, ``block`` < 1.
    NotConvergedError
        When no basis of full rank is found (round-off at the numerical rank cut).
    """
    return _conic_caratheodory(as_matrix(G, "G"), weights, block)[0]


def _conic_caratheodory(gens: NDArray, weights: ArrayLike, block: int) -> tuple[NDArray, int]:
    """``conic_caratheodory`` and the numerical rank of the generators with positive weight."""
    c = as_vector(weights, "weights", nonnegative=True).copy()
    if c.size != gens.shape[1]:
        raise ValueError(f"weights must have one entry per column of G ({gens.shape[1]}), got {c.size}")
    block = positive_int(block, "block")
    live = np.flatnonzero(c > 0)
    coords, basis = _full_row_rank(gens[:, live])
    rank = coords.shape[0]
    if live.size <= rank:
        return c, rank
    reduced = _crossover(coords, c[live], block, _initial_basis(coords) if basis is None else basis)
    out = np.zeros_like(c)
    out[live] = _polish(coords, reduced, coords @ c[live])
    return out, rank


def _numerical_rank(R: NDArray, shape: tuple[int, int]) -> int:
    """Rank from the diagonal of a pivoted-QR factor: |R_kk| > max(shape)·ε·|R_00|."""
    diag = np.abs(np.diag(R))
    return int(np.sum(diag > _rank_cut(shape, diag[0]))) if diag.size else 0


def _spread(n: int, k: int) -> NDArray[np.intp]:
    """k column indices spread evenly over range(n) (all of them when k >= n)."""
    return np.arange(n) if k >= n else np.unique(np.linspace(0, n - 1, k).astype(np.intp))


def _independent_columns(G: NDArray, subset: NDArray[np.intp]) -> NDArray[np.intp]:
    """The columns of G[:, subset] that a pivoted QR finds independent (numerical rank many)."""
    _, R, pivots = sl.qr(G[:, subset], mode="economic", pivoting=True)
    return subset[pivots[:_numerical_rank(R, G.shape)]]


def _full_row_rank(G: NDArray) -> tuple[NDArray, NDArray[np.intp] | None]:
    """(G, r independent columns) when G (D, n) has full row rank — certified by a pivoted QR of a
    spread of D + 64 columns — else (G in the coordinates of an orthonormal basis of its column
    space, None); the basis comes from an SVD of the R factor of a QR of Gᵀ, cut at the numerical
    rank."""
    D, n = G.shape
    if n >= D:
        columns = _independent_columns(G, _spread(n, D + 64))
        if columns.size == D:
            return G, columns
    if n > D:
        _, tall_R = np.linalg.qr(G.T)  # G = tall_Rᵀ Qᵀ: same column space, D×D
        U, s, _ = np.linalg.svd(tall_R.T)
    else:
        U, s, _ = np.linalg.svd(G, full_matrices=False)
    rank = int(np.sum(s > _rank_cut(G.shape, s[0]))) if s.size else 0
    return U[:, :rank].T @ G, None


def _initial_basis(G: NDArray) -> NDArray[np.intp]:
    """r independent columns of a full-row-rank G (r, n), from a spread of r + 64 columns or, if
    that spread is rank-deficient, from all of them."""
    r, n = G.shape
    for subset in (_spread(n, r + 64), np.arange(n)):
        basis = _independent_columns(G, subset)
        if basis.size == r:
            return basis
    raise NotConvergedError("conic_caratheodory: no basis of full rank found")


class _Etas:
    """Pending pivots of the product-form inverse: x ↦ E_m⋯E_1 x with E_p x = x − (α_p − e_{b_p})·
    x_{b_p}/α_p[b_p]. Their coefficients solve T c = x[b] with T lower triangular, T_pq = α_q[b_p] −
    [b_q = b_p] (q < p), T_pp = α_p[b_p]; T⁻¹ is kept up to date, so applying them to one vector or
    to a panel is two small products."""

    def __init__(self, size: int, capacity: int) -> None:
        self.size = size
        self.alphas = np.empty((capacity, size))
        self.rows = np.empty(capacity, dtype=np.intp)
        self.inverse = np.zeros((capacity, capacity))
        self.count = 0

    def add(self, alpha: NDArray, row: int) -> None:
        p = self.count
        below = self.alphas[:p, row] - (self.rows[:p] == row)
        self.inverse[p, :p] = -(below @ self.inverse[:p, :p]) / alpha[row]
        self.inverse[p, p] = 1.0 / alpha[row]
        self.alphas[p], self.rows[p] = alpha, row
        self.count += 1

    def apply(self, x: NDArray) -> NDArray:
        """E_m⋯E_1 x for one vector x (size,)."""
        p = self.count
        if p == 0:
            return x
        rows = self.rows[:p]
        coef = self.inverse[:p, :p] @ x[rows]
        out = x - self.alphas[:p].T @ coef
        out += np.bincount(rows, coef, minlength=self.size)
        return out

    def apply_in_place(self, panel: NDArray) -> None:
        """panel ← E_m⋯E_1 panel for a Fortran-ordered (size, k) panel, without temporaries."""
        p = self.count
        rows = self.rows[:p]
        coef = np.asfortranarray(self.inverse[:p, :p] @ panel[rows])
        sl.blas.dgemm(-1.0, self.alphas[:p].T, coef, 1.0, panel, overwrite_c=True)
        np.add.at(panel, rows, coef)


def _crossover(G: NDArray, c: NDArray, block: int, basis: NDArray[np.intp], flush: int = 32) -> NDArray:
    """The pivoting sweep of ``conic_caratheodory`` on a full-row-rank G (r, n), c > 0, from r
    independent columns ``basis``.

    Ratio test: the basis weights move by step·α; those with α_i < −1e-12·max|panel column| fall,
    and the first to reach zero (the largest weight/α among them, all ≤ 0) leaves unless the entering
    weight c_j runs out first."""
    r, n = G.shape
    c, basis = c.copy(), basis.copy()
    weights = c[basis]  # the basis's weights, by basis position
    others = np.setdiff1d(np.arange(n), basis)
    with np.errstate(divide="ignore", invalid="ignore"):
        for start in range(0, others.size, block):
            J = others[start:start + block]
            panel = sl.lu_solve(sl.lu_factor(G[:, basis], check_finite=False), G[:, J],
                                check_finite=False)
            panel = np.asfortranarray(panel)
            thresholds = -1e-12 * np.abs(panel).max(axis=0)
            etas = _Etas(r, flush)
            for t, j in enumerate(J):
                alpha = etas.apply(panel[:, t])
                quotients = np.where(alpha < thresholds[t], weights / alpha, -np.inf)
                leaving = int(np.argmax(quotients))
                step = min(c[j], -quotients[leaving])
                weights += step * alpha
                np.maximum(weights, 0.0, out=weights)
                if step == c[j]:
                    c[j] = 0.0
                    continue
                c[basis[leaving]] = 0.0
                weights[leaving] = c[j] - step
                c[j] = 0.0
                basis[leaving] = j
                etas.add(alpha, leaving)
                if etas.count == flush and t + 1 < J.size:
                    etas.apply_in_place(panel[:, t + 1:])
                    etas = _Etas(r, flush)
    c[basis] = weights
    return c


def _polish(G: NDArray, c: NDArray, target: NDArray) -> NDArray:
    """Re-solve the weights on their support by least squares (removes the round-off the sweep
    accumulated); keep the sweep's weights if the re-solve leaves the cone."""
    support = np.flatnonzero(c > 0)
    if support.size == G.shape[0]:
        solved = np.linalg.solve(G[:, support], target)
    else:
        solved, *_ = np.linalg.lstsq(G[:, support], target, rcond=None)
    if np.all(solved >= 0):
        c = c.copy()
        c[support] = solved
    return c


def _sym_coordinates(rows: NDArray) -> NDArray:
    """Coordinates of the matrices a aᵀ for the rows a of ``rows`` (n, p), one column each, in the
    isometric basis of symmetric matrices (diagonal entries, off-diagonal ones times √2)."""
    upper = np.triu_indices(rows.shape[1])
    scale = np.where(upper[0] == upper[1], 1.0, np.sqrt(2.0))
    return (rows[:, upper[0]] * rows[:, upper[1]] * scale).T


def _whitened_rows(M: NDArray) -> NDArray:
    """U (w, p) from M = U S Vᵀ (numerical rank p): the rows of M in the basis V S of its row space.

    Σ_k c_k m_k m_kᵀ = MᵀM  ⇔  Σ_k c_k u_k u_kᵀ = I_p (apply V S · S Vᵀ), so the conic problem is the
    same; in these coordinates every direction of the row space has weight 1, and a direction
    with singular value 1e-7·s₁ is reproduced to relative precision ε, not ε/1e-14."""
    U, s, _ = np.linalg.svd(M, full_matrices=False)
    if not s.size or s[0] == 0:
        return np.zeros((M.shape[0], 0))
    return U[:, s > _rank_cut(M.shape, s[0])]


def cone_generators(Z: ArrayLike, activation: str = "relu") -> NDArray[np.float64]:
    """The generators (z zᵀ, σ(z)σ(z)ᵀ) of the neurons of a layer, one column per neuron.

    An exact change of coordinates: each half is written in the basis V S of the row space of Z
    (resp. σ(Z)) from its SVD, so the result has p(p+1)/2 + q(q+1)/2 <= N(N+1) rows for ranks p, q,
    and the layer's own pair is (I_p, I_q).

    Parameters
    ----------
    Z : array_like, shape (w, N)
        Pre-activations of the layer's w neurons on N points, one row per neuron.
    activation : {"relu", "identity", "abs"}, default "relu"
        A positively homogeneous σ.

    Returns
    -------
    ndarray of float64, shape (p(p+1)/2 + q(q+1)/2, w)

    Raises
    ------
    ValueError
        Naming the argument: a non-finite ``Z``, an activation that is not positively homogeneous.
    """
    pre = as_matrix(Z, "Z")
    post = activation_function(activation)(pre)
    return np.vstack([_sym_coordinates(_whitened_rows(pre)), _sym_coordinates(_whitened_rows(post))])


@dataclass(frozen=True)
class Reduction:
    """Outcome of ``caratheodory_reduce``.

    Attributes
    ----------
    kept : ndarray of intp, shape (k,)
        Indices into the rows of Z of the neurons kept.
    weights : ndarray of float64, shape (k,)
        c > 0 with Σ_kept c_i (z_i z_iᵀ, σ(z_i)σ(z_i)ᵀ) = (K̃, K).
    rank : int
        The numerical rank of the generators (an upper bound on k).
    error : float
        The largest relative error of the two covariances.
    """

    kept: NDArray[np.intp]
    weights: NDArray[np.float64]
    rank: int
    error: float


def caratheodory_reduce(Z: ArrayLike, activation: str = "relu", weights: ArrayLike | None = None,
                        *, block: int = 1024) -> Reduction:
    """Keep at most N(N+1) neurons of a layer with the same pair of covariances.

    Finds c >= 0 with at most rank(generators) <= N(N+1) non-zeros such that Σ_i c_i·z_i z_iᵀ = K̃
    and Σ_i c_i·σ(z_i)σ(z_i)ᵀ = K, for the pair (K̃, K) = Σ_i weights_i·(…). Scaling neuron i's
    incoming weights (and bias) by √c_i gives a layer with these covariances (σ positively
    homogeneous); see ``reduce_network``. Source: Jacot et al. 2022, arXiv 2205.15809.

    Parameters
    ----------
    Z : array_like, shape (w, N)
        Pre-activations of the layer's w neurons on N points, one row per neuron.
    activation : {"relu", "identity", "abs"}, default "relu"
    weights : array_like, shape (w,), optional
        Default 1: the layer's own covariances.
    block : int, default 1024
        Columns per LU solve of ``conic_caratheodory``.

    Returns
    -------
    Reduction

    Raises
    ------
    ValueError
        Naming the argument: a non-finite ``Z``, an activation that is not positively homogeneous,
        ``weights`` of another length than the rows of Z.
    """
    pre = as_matrix(Z, "Z")
    sigma = activation_function(activation)
    start = np.ones(pre.shape[0]) if weights is None else as_vector(weights, "weights", nonnegative=True)
    if start.size != pre.shape[0]:
        raise ValueError(f"weights must have one entry per row of Z ({pre.shape[0]}), got {start.size}")
    c, rank = _conic_caratheodory(cone_generators(pre, activation), start, block)
    kept = np.flatnonzero(c > 0)
    post = sigma(pre)
    errors = [np.linalg.norm(M[kept].T @ (c[kept, None] * M[kept]) - M.T @ (start[:, None] * M))
              / max(np.linalg.norm(M.T @ (start[:, None] * M)), np.finfo(float).tiny) for M in (pre, post)]
    return Reduction(kept=kept, weights=c[kept], rank=rank, error=float(max(errors)))


def reduce_network(net: torch.nn.Module, X: ArrayLike) -> torch.nn.Sequential:
    """The network with every hidden layer Carathéodory-reduced on the data X.

    Layer by layer: keep the neurons of ``caratheodory_reduce`` scaled by √c_i (same K̃_ℓ, same K_ℓ),
    and give the next layer the least-norm weights W = Z̃_next Z_ℓ'⁺ (with the bias column when it has
    a bias) that reproduce its pre-activations on X exactly. Outputs on X are unchanged; each reduced
    layer keeps at most N(N+1) neurons; ‖θ‖² becomes Σ Tr[K̃_ℓ K_{ℓ−1}⁺], the original's when its
    weights were least-norm (as at any critical point of the regularized loss).

    Parameters
    ----------
    net : torch.nn.Module
        An MLP of ``torch.nn.Linear`` layers and one positively homogeneous activation.
    X : array_like, shape (N, d)

    Returns
    -------
    torch.nn.Sequential
        A new network; ``net`` is not changed.

    Raises
    ------
    ValueError
        When ``net`` is not such an MLP or X has the wrong number of columns.
    """
    linears, name = _layers(net)
    points = as_matrix(X, "X")
    pre, _ = activations(net, points)
    sigma = activation_function(name)
    weights = [layer.weight.detach().double().numpy() for layer in linears]
    biases = [None if layer.bias is None else layer.bias.detach().double().numpy() for layer in linears]
    current = points.T
    new_layers: list[torch.nn.Module] = []
    for k in range(len(linears)):
        target = pre[k]
        if k > 0:  # least-norm weights from the reduced input
            inputs = current if biases[k] is None else _append_ones(current)
            solved = least_norm_weights([target], [inputs])[0]
            weights[k], biases[k] = (solved, None) if biases[k] is None else (solved[:, :-1], solved[:, -1])
        if k < len(linears) - 1:
            reduction = caratheodory_reduce(target, name)
            scale = np.sqrt(reduction.weights)
            weights[k] = weights[k][reduction.kept] * scale[:, None]
            if biases[k] is not None:
                biases[k] = biases[k][reduction.kept] * scale
            current = sigma(target[reduction.kept] * scale[:, None])
        layer = torch.nn.Linear(weights[k].shape[1], weights[k].shape[0], bias=biases[k] is not None,
                                dtype=torch.float64)
        with torch.no_grad():
            layer.weight.copy_(torch.as_tensor(weights[k]))
            if biases[k] is not None:
                layer.bias.copy_(torch.as_tensor(biases[k]))
        new_layers.append(layer)
        if k < len(linears) - 1:
            new_layers.append(type(net[1])())
    return torch.nn.Sequential(*new_layers)
