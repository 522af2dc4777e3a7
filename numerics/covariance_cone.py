"""The covariance cone of L2-regularized networks: covariances, Carathéodory reduction, shallow optimum.

Source: Jacot, Golikov, Hongler, Gabriel, arXiv 2205.15809 (CLAIMS.md §5); the shallow convex program
is Pilanci & Ergen 2020 ("Neural networks are convex regularizers").

Conventions. Data X is (N, d), one training point per row (the torch convention; the paper's X is its
transpose). A layer's pre-activations are Z̃ (w, N), one row per neuron, post-activations Z = σ(Z̃);
K̃ = Z̃ᵀZ̃ and K = ZᵀZ are N×N. A linear layer with a bias acts on Z stacked with a row of ones, so its
input covariance is K + 11ᵀ (bias amount β = 1). The loss of an MLP f_θ is

    L(θ) = (1/N)·‖f_θ(X) − Y‖_F² + λ·‖θ‖²,       ‖θ‖² = Σ_ℓ ‖W_ℓ‖_F² + ‖b_ℓ‖²,

and at least-norm weights W_ℓ = Z̃_ℓ Z_{ℓ−1}⁺ it equals (1/N)‖Z̃_L − Y‖² + λ Σ_ℓ Tr[K̃_ℓ K_{ℓ−1}⁺].
The activation must be positively homogeneous (σ(cz) = cσ(z) for c > 0): only then do rescaled
neurons stay neurons and the pairs (K̃, K) form a cone.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import cvxpy as cp
import numpy as np
import scipy.linalg as sl
import torch
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import nnls

from numerics.networks import MODULES, mlp, regularized_loss  # noqa: F401  (re-exported)
from numerics.validation import NotConvergedError, as_matrix, as_vector, nonnegative_float, positive_int

Activation = Callable[[NDArray[np.float64]], NDArray[np.float64]]

#: The positively homogeneous activations the cone accepts, by name.
ACTIVATIONS: dict[str, Activation] = {
    "relu": lambda z: np.maximum(z, 0.0),
    "identity": lambda z: z,
    "abs": np.abs,
}
_MODULES = {kind: name for name, kind in MODULES.items()}


def _rank_cut(shape: tuple[int, ...], largest: float) -> float:
    """The numerical-rank threshold used throughout: max(shape)·ε·(largest singular value)."""
    return max(shape) * np.finfo(float).eps * largest


def activation_function(name: str) -> Activation:
    """The numpy function of a positively homogeneous activation; refuse any other."""
    if name not in ACTIVATIONS:
        raise ValueError(
            f"activation must be one of {sorted(ACTIVATIONS)} (the cone needs a positively "
            f"homogeneous σ, σ(cz) = c·σ(z) for c > 0), got {name!r}")
    return ACTIVATIONS[name]


# ---------------------------------------------------------------------------------------------
# Covariances of a torch MLP
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NetworkCovariances:
    """The covariances of an MLP on N points (all N×N).

    ``inputs[ℓ]`` is the covariance seen by linear layer ℓ + 1 (K_0 = XXᵀ, then K_ℓ = σ(Z̃_ℓ)ᵀσ(Z̃_ℓ),
    each + 11ᵀ when that layer has a bias); ``pre[ℓ]`` is K̃_{ℓ+1} = Z̃ᵀZ̃ of its output (the last one
    is the network's output covariance); ``post[ℓ]`` is K_{ℓ+1} of hidden layer ℓ + 1 without the
    bias row. ``outputs`` is f(X) (N, d_out).
    """

    inputs: list[NDArray[np.float64]]
    pre: list[NDArray[np.float64]]
    post: list[NDArray[np.float64]]
    outputs: NDArray[np.float64]


def _layers(net: torch.nn.Module) -> tuple[list[torch.nn.Linear], str]:
    """The linear layers of an MLP (Linear, activation, Linear, …, Linear) and its activation name."""
    if not isinstance(net, torch.nn.Sequential):
        raise ValueError(f"net must be a torch.nn.Sequential MLP, got {type(net).__name__}")
    modules = list(net)
    linears, names = modules[0::2], {type(m) for m in modules[1::2]}
    if not modules or not all(isinstance(m, torch.nn.Linear) for m in linears) or len(modules) % 2 == 0:
        raise ValueError("net must alternate torch.nn.Linear and activation modules, starting and "
                         "ending with a Linear")
    unknown = names - set(_MODULES)
    if unknown or len(names) > 1:
        raise ValueError(f"net's activations must all be one of {[m.__name__ for m in _MODULES]} (the "
                         f"cone needs positive homogeneity), got {[m.__name__ for m in names]}")
    return linears, _MODULES[names.pop()] if names else "identity"


def activations(net: torch.nn.Module, X: ArrayLike) -> tuple[list[NDArray], list[NDArray]]:
    """Pre-activations Z̃_ℓ and post-activations Z_ℓ (each (width, N), rows = neurons) of every
    linear layer of ``net`` on the rows of X; Z_0 = Xᵀ and the last Z̃ is the output."""
    linears, name = _layers(net)
    points = as_matrix(X, "X")
    if points.shape[1] != linears[0].in_features:
        raise ValueError(f"X must have {linears[0].in_features} columns, got {points.shape[1]}")
    sigma = activation_function(name)
    post, pre = [points.T], []
    for k, layer in enumerate(linears):
        weight = layer.weight.detach().double().numpy()
        bias = 0.0 if layer.bias is None else layer.bias.detach().double().numpy()[:, None]
        pre.append(weight @ post[-1] + bias)
        if k < len(linears) - 1:
            post.append(sigma(pre[-1]))
    return pre, post


def _append_ones(z: NDArray) -> NDArray:
    """Z (w, N) stacked with a row of ones: the input a bias acts on."""
    return np.vstack([z, np.ones((1, z.shape[1]))])


def _with_bias_rows(net: torch.nn.Module, post: list[NDArray]) -> list[NDArray]:
    """Each layer's input Z_{ℓ−1}, stacked with a row of ones when that layer has a bias."""
    linears, _ = _layers(net)
    return [z if layer.bias is None else _append_ones(z) for z, layer in zip(post, linears, strict=True)]


def layer_inputs(net: torch.nn.Module, X: ArrayLike) -> tuple[list[NDArray], list[NDArray]]:
    """For every linear layer ℓ of ``net`` on the rows of X: its pre-activations Z̃_ℓ (w_ℓ, N) and its
    input Z_{ℓ−1} (w_{ℓ−1}, N), stacked with a row of ones when the layer has a bias."""
    pre, post = activations(net, X)
    return pre, _with_bias_rows(net, post)


def layer_covariances(net: torch.nn.Module, X: ArrayLike) -> NetworkCovariances:
    """The pairs (K̃_ℓ, K_ℓ) of a torch MLP on data X (N, d); see ``NetworkCovariances``."""
    pre, post = activations(net, X)
    return NetworkCovariances(inputs=[z.T @ z for z in _with_bias_rows(net, post)],
                              pre=[z.T @ z for z in pre], post=[z.T @ z for z in post[1:]],
                              outputs=pre[-1].T.copy())


def parameter_norm(net: torch.nn.Module) -> float:
    """‖θ‖² = Σ_ℓ ‖W_ℓ‖_F² + ‖b_ℓ‖² over every parameter of ``net``."""
    return float(sum(torch.sum(p.detach().double() ** 2) for p in net.parameters()))


def least_norm_weights(pre: list[NDArray], inputs: list[NDArray]) -> list[NDArray]:
    """W_ℓ = Z̃_ℓ Z_{ℓ−1}⁺ for the activations of ``layer_inputs``: the least-norm weights (w_ℓ, w_{ℓ−1}
    [+1 for the bias]) that reproduce every layer's pre-activations. Solved by ``np.linalg.lstsq``
    (SVD applied to the right-hand side, which keeps the residual at round-off even when the
    activations are nearly rank-deficient; forming Z⁺ explicitly does not)."""
    return [np.linalg.lstsq(source.T, target.T, rcond=None)[0].T
            for target, source in zip(pre, inputs, strict=True)]


def least_norm_cost(pre: list[NDArray], inputs: list[NDArray]) -> float:
    """Σ_ℓ ‖Z̃_ℓ Z_{ℓ−1}⁺‖_F², the norm of ``least_norm_weights``."""
    return float(sum(np.sum(W**2) for W in least_norm_weights(pre, inputs)))


def least_norm_uncertainty(pre: list[NDArray], inputs: list[NDArray]) -> float:
    """The float64 uncertainty of ``least_norm_cost``: Σ_ℓ 2‖W_ℓ‖δ_ℓ + δ_ℓ² with
    δ_ℓ = max(shape)·ε·(‖Z̃_ℓ‖ + ‖W_ℓ‖‖Z_{ℓ−1}‖)/s_min, s_min the smallest singular value of Z_{ℓ−1}
    above the numerical rank cut (first-order perturbation of the least-norm solution of a
    consistent system). Activations of trained networks nearly collapse (s_min down to 1e-13 of the
    largest), and there the least-norm cost is only determined to this accuracy."""
    total = 0.0
    for W, target, source in zip(least_norm_weights(pre, inputs), pre, inputs, strict=True):
        s = np.linalg.svd(source, compute_uv=False)
        kept = s[s > _rank_cut(source.shape, s[0])] if s.size and s[0] > 0 else s[:0]
        if not kept.size:
            continue
        norm = np.linalg.norm(W)
        scale = np.linalg.norm(target) + norm * np.linalg.norm(source)
        delta = max(source.shape) * np.finfo(float).eps * scale / kept[-1]
        total += 2 * norm * delta + delta**2
    return float(total)


def _fit(outputs: NDArray, Y: ArrayLike) -> float:
    targets = as_matrix(Y, "Y")
    if targets.shape != outputs.shape:
        raise ValueError(f"Y must have shape {outputs.shape}, got {targets.shape}")
    return float(np.mean(np.sum((outputs - targets) ** 2, axis=1)))


def activation_loss(net: torch.nn.Module, X: ArrayLike, Y: ArrayLike, lam: float) -> float:
    """(1/N)·‖Z̃_L − Y‖² + λ·Σ_ℓ ‖Z̃_ℓ Z_{ℓ−1}⁺‖²: the loss as a function of the network's activations
    on X, equal to the parameter-space loss L(θ) at least-norm weights."""
    lam = nonnegative_float(lam, "lam")
    pre, inputs = layer_inputs(net, X)
    return _fit(pre[-1].T, Y) + lam * least_norm_cost(pre, inputs)


def covariance_loss(covariances: NetworkCovariances, Y: ArrayLike, lam: float,
                    rtol: float = 1e-12) -> float:
    """(1/N)·‖Z̃_L − Y‖² + λ·Σ_ℓ Tr[K̃_ℓ K_{ℓ−1}⁺], the same loss from the covariances alone.

    Tr[K⁺K̃] comes from the least-squares solution of K·M = K̃ with singular values of K below
    rtol·λ_max dropped: K squares the condition number of the activations, so directions with
    singular value below ~√rtol of the largest are lost (prefer ``activation_loss`` for trained
    networks, whose representations nearly collapse).
    """
    lam = nonnegative_float(lam, "lam")
    cost = sum(float(np.trace(np.linalg.lstsq(k, p, rcond=rtol)[0]))
               for p, k in zip(covariances.pre, covariances.inputs, strict=True))
    return _fit(covariances.outputs, Y) + lam * cost


# ---------------------------------------------------------------------------------------------
# Carathéodory reduction
# ---------------------------------------------------------------------------------------------


def conic_caratheodory(G: ArrayLike, weights: ArrayLike, *, block: int = 1024) -> NDArray[np.float64]:
    """Carathéodory's theorem for cones, constructively: weights c ≥ 0 with G c = G·weights and at
    most rank(G) non-zeros.

    G is (D, n), one generator per column. Method: a basis B of rank(G) columns (pivoted QR) and a
    sweep over the other columns j, as in the crossover step of a simplex method: with Bα = g_j the
    vector (α on B, −1 at j) is in the null space of G; moving the weights along it until one of
    them hits zero either drops j or swaps it into the basis for the column that dropped (a pivot).
    Columns go in blocks: α for a block is one LU solve B⁻¹G_J, and the pivots inside a block update
    the rest of it through the product form of the inverse, 32 pivots per matrix product. Cost
    O(n·r² + r³·n/block) for rank r. Exact linear algebra: the only tolerance is the numerical rank.
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


# ---------------------------------------------------------------------------------------------
# Reduction of a layer and of a network
# ---------------------------------------------------------------------------------------------


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
    """The generators (z zᵀ, σ(z)σ(z)ᵀ) of the neurons of a layer, one column per row z of Z (w, N).

    Exact change of coordinates: each half is written in the basis V S of the row space of Z (resp.
    σ(Z)) from its SVD (``_whitened_rows``), so the result has p(p+1)/2 + q(q+1)/2 ≤ N(N+1) rows
    for ranks p, q, and the layer's own pair is (I_p, I_q).
    """
    pre = as_matrix(Z, "Z")
    post = activation_function(activation)(pre)
    return np.vstack([_sym_coordinates(_whitened_rows(pre)), _sym_coordinates(_whitened_rows(post))])


@dataclass(frozen=True)
class Reduction:
    """Output of ``caratheodory_reduce``: neurons ``kept`` (indices into the rows of Z) with
    weights c > 0 such that Σ_kept c_i (z_i z_iᵀ, σ(z_i)σ(z_i)ᵀ) = (K̃, K); ``rank``: the numerical rank
    of the generators (an upper bound on len(kept)); ``error``: the largest relative error of the two
    covariances."""

    kept: NDArray[np.intp]
    weights: NDArray[np.float64]
    rank: int
    error: float


def caratheodory_reduce(Z: ArrayLike, activation: str = "relu", weights: ArrayLike | None = None,
                        *, block: int = 1024) -> Reduction:
    """Keep at most N(N+1) neurons of a layer with the same pair of covariances.

    Z (w, N) holds the pre-activations of the layer's w neurons on N points (one row per neuron).
    Returns c ≥ 0 with at most rank(generators) ≤ N(N+1) non-zeros such that Σ_i c_i·z_i z_iᵀ = K̃
    and Σ_i c_i·σ(z_i)σ(z_i)ᵀ = K, for the pair (K̃, K) = Σ_i weights_i·(…) (weights default to 1:
    the layer's own covariances). Scaling neuron i's incoming weights (and bias) by √c_i gives a
    layer with these covariances (σ positively homogeneous); see ``reduce_network``.
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
    """The network with every hidden layer Carathéodory-reduced on the data X (N, d).

    Layer by layer: keep the neurons of ``caratheodory_reduce`` scaled by √c_i (same K̃_ℓ, same K_ℓ),
    and give the next layer the least-norm weights W = Z̃_next Z_ℓ'⁺ (with the bias column when it
    has a bias) that reproduce its pre-activations on X exactly. Outputs on X are unchanged; each
    reduced layer keeps at most N(N+1) neurons; ‖θ‖² becomes Σ Tr[K̃_ℓ K_{ℓ−1}⁺], the original's when
    its weights were least-norm (as at any critical point of the regularized loss).
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


# ---------------------------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Trained:
    """Outcome of ``train``: the network, its final loss L(θ) and the gradient norm ‖∇L‖ at the end
    (tolerances derived from stationarity use it)."""

    net: torch.nn.Sequential
    loss: float
    grad_norm: float


def train(net: torch.nn.Sequential, X: ArrayLike, Y: ArrayLike, lam: float, *, adam_steps: int = 2000,
          lr: float = 1e-2, lbfgs_steps: int = 500) -> Trained:
    """Minimize L(θ) full-batch in float64: Adam (``adam_steps`` at ``lr``) to find a basin, then
    L-BFGS with strong-Wolfe line search to a tight stationary point. Trains ``net`` in place."""
    points, targets = as_matrix(X, "X"), as_matrix(Y, "Y")
    if points.shape[0] != targets.shape[0]:
        raise ValueError(f"X and Y must have the same number of rows, got {points.shape[0]} and "
                         f"{targets.shape[0]}")
    lam = nonnegative_float(lam, "lam")
    X_t, Y_t = torch.as_tensor(points), torch.as_tensor(targets)
    params = list(net.parameters())
    adam = torch.optim.Adam(params, lr=lr)
    for _ in range(adam_steps):
        adam.zero_grad()
        regularized_loss(net, X_t, Y_t, lam).backward()
        adam.step()
    lbfgs = torch.optim.LBFGS(params, lr=1.0, max_iter=lbfgs_steps, tolerance_grad=1e-14,
                              tolerance_change=1e-16, history_size=50, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        lbfgs.zero_grad()
        value = regularized_loss(net, X_t, Y_t, lam)
        value.backward()
        return value

    lbfgs.step(closure)
    value = closure().detach()
    grad_norm = float(torch.sqrt(sum(torch.sum(p.grad**2) for p in params)))
    return Trained(net=net, loss=float(value), grad_norm=grad_norm)


# ---------------------------------------------------------------------------------------------
# The exact global optimum of a shallow ReLU network (Pilanci–Ergen convex program)
# ---------------------------------------------------------------------------------------------


def _general_position(points: NDArray) -> bool:
    """Every d rows of ``points`` (N, d) linearly independent (checked by determinants)."""
    n, d = points.shape
    if n < d:
        return bool(np.linalg.matrix_rank(points) == n)
    subsets = (points[list(rows)] for rows in itertools.combinations(range(n), d))
    return all(abs(np.linalg.det(S)) > 1e-9 * np.prod(np.linalg.norm(S, axis=1)) for S in subsets)


def activation_patterns(points: ArrayLike, *, samples: int | None = None, seed: int = 0
                        ) -> tuple[NDArray[np.bool_], str]:
    """The ReLU activation patterns 1[X u ≥ 0] of the rows of X (N, d) over directions u.

    Exact (``samples=None``, for points in general position): every region of the central
    arrangement {u : x_iᵀu = 0} touches a ray where d − 1 of the hyperplanes meet; each such ray ±u
    and each sign choice on its d − 1 points gives one pattern. Sampled (``samples=n``): patterns
    of n Gaussian directions, a subset (the convex program then gives an upper bound). The all-zero
    pattern (a dead neuron) is dropped. Returns (patterns (P, N) bool, "exact" or "sampled").
    """
    X = as_matrix(points, "points")
    n, d = X.shape
    if samples is not None:
        u = np.random.default_rng(seed).normal(size=(d, positive_int(samples, "samples")))
        found = (X @ u >= 0).T
        mode = "sampled"
    else:
        if not _general_position(X):
            raise ValueError("points must be in general position (every d of them independent) for "
                             "the exact enumeration; pass samples=n to sample patterns instead")
        found = [X[:, 0] >= 0, X[:, 0] <= 0] if d == 1 else []
        if n < d:  # independent rows: X u takes every sign vector
            found = list(itertools.product((False, True), repeat=n))
        for rows in itertools.combinations(range(n), d - 1) if n >= d > 1 else ():
            ray = np.linalg.svd(X[list(rows)], full_matrices=True)[2][-1]  # ⟂ to the d − 1 points
            base = X @ ray > 0
            for signs in itertools.product((False, True), repeat=d - 1):
                for direction in (base, ~base):
                    pattern = direction.copy()
                    pattern[list(rows)] = signs
                    found.append(pattern)
        mode = "exact"
    unique = np.unique(np.asarray(found, dtype=bool), axis=0)
    return unique[unique.any(axis=1)], mode


@dataclass(frozen=True)
class ConvexOptimum:
    """Output of ``shallow_convex_optimum``.

    value: the convex program's optimum (the network loss of its solution, recomputed in numpy);
    lower_bound: a certified lower bound from a dual-feasible point (Lagrange dual of the program);
    a, W, b: the optimal network f(x) = Σ_i a_i·relu(w_iᵀx + b_i), at most N + 1 neurons, balanced;
    status: the solver's status; patterns, mode: how many activation patterns and whether they were
    enumerated exactly (then ``value`` is the global minimum) or sampled (an upper bound on it);
    violation: the largest violation of the pattern constraints by the solver's solution.
    """

    value: float
    lower_bound: float
    a: NDArray[np.float64]
    W: NDArray[np.float64]
    b: NDArray[np.float64]
    status: str
    patterns: int
    mode: str
    violation: float

    @property
    def gap(self) -> float:
        """value − lower_bound, relative to value."""
        return (self.value - self.lower_bound) / max(abs(self.value), np.finfo(float).tiny)


def _dual_bound(Xa: NDArray, y: NDArray, patterns: NDArray, residual: NDArray, lam: float) -> float:
    """A lower bound on the convex program from z = 2r/N (r the residual of its solution).

    Lagrange dual of min (1/N)‖r‖² + 2λΣ(‖v_i‖ + ‖u_i‖), r = Σ D_iX(v_i − u_i) − y, (2D_i − I)Xv_i ≥ 0,
    (2D_i − I)Xu_i ≥ 0: g(z, μ, ν) = −(N/4)‖z‖² − zᵀy whenever ‖Xᵀ(±D_i z − (2D_i − I)μ)‖ ≤ 2λ with
    μ ≥ 0 for every pattern. The best μ for each pattern and sign is a non-negative least squares;
    z is scaled down until every constraint holds, which keeps it dual feasible."""
    n = y.size
    z = 2.0 * residual / n
    worst = 0.0
    for pattern in patterns:
        signs = np.where(pattern, 1.0, -1.0)
        M = Xa.T * signs  # Xᵀ(2D − I), (d, N)
        for sign in (1.0, -1.0):
            _, norm = nnls(M, sign * Xa.T @ (pattern * z))
            worst = max(worst, norm)
    z = z * min(1.0, 2.0 * lam / worst) if worst > 0 else z
    return float(-n / 4.0 * z @ z - z @ y)


def shallow_convex_optimum(X: ArrayLike, y: ArrayLike, lam: float, *, bias: bool = True,
                           samples: int | None = None, seed: int = 0, solver: str = "CLARABEL",
                           tol: float = 1e-10) -> ConvexOptimum:
    """The exact global minimum of L(θ) = (1/N)‖f(X) − y‖² + λ‖θ‖² over one-hidden-layer ReLU
    networks f(x) = Σ_i a_i·relu(w_iᵀx + b_i) of any width (biases regularized, no output bias).

    Pilanci–Ergen: with X̃ = [X, 1] and the activation patterns D_i of X̃, the convex program
        min (1/N)‖Σ_i D_i X̃ (v_i − u_i) − y‖² + 2λ Σ_i (‖v_i‖ + ‖u_i‖),
        (2D_i − I) X̃ v_i ≥ 0, (2D_i − I) X̃ u_i ≥ 0,
    has the same optimal value (λ‖θ‖² of a balanced neuron is 2λ|a|‖w‖ = 2λ‖v‖). Solved by cvxpy
    with ``solver`` at tolerance ``tol``; neurons with ‖v_i‖ > 0 become (a = ±√‖v‖, w = v/√‖v‖) and
    are Carathéodory-reduced to at most N + 1 (generators (outputs on X, path cost) in ℝ^{N+1}).
    Patterns are enumerated exactly when ``samples`` is None (points in general position), else
    sampled. A status other than optimal raises ``NotConvergedError`` with the status.
    """
    points, targets = as_matrix(X, "X"), as_vector(y, "y")
    if points.shape[0] != targets.size:
        raise ValueError(f"X has {points.shape[0]} rows but y has {targets.size} entries")
    lam = nonnegative_float(lam, "lam", positive=True)
    Xa = np.hstack([points, np.ones((points.shape[0], 1))]) if bias else points
    patterns, mode = activation_patterns(Xa, samples=samples, seed=seed)
    P, (n, d) = len(patterns), Xa.shape
    V, U = cp.Variable((d, P)), cp.Variable((d, P))
    masks = patterns.astype(float)
    outputs = cp.sum(cp.multiply(masks.T, Xa @ (V - U)), axis=1)
    signs = (2 * masks - 1).T  # (N, P)
    constraints = [cp.multiply(signs, Xa @ V) >= 0, cp.multiply(signs, Xa @ U) >= 0]
    objective = cp.sum_squares(outputs - targets) / n + 2 * lam * (cp.sum(cp.norm(V, 2, axis=0))
                                                                  + cp.sum(cp.norm(U, 2, axis=0)))
    problem = cp.Problem(cp.Minimize(objective), constraints)
    options = {"tol_gap_abs": tol, "tol_gap_rel": tol, "tol_feas": tol} if solver == "CLARABEL" else {}
    problem.solve(solver=solver, **options)
    if problem.status != cp.OPTIMAL:
        raise NotConvergedError(f"shallow_convex_optimum: solver {solver} returned status {problem.status!r}")
    v, u = np.asarray(V.value), np.asarray(U.value)
    violation = float(max(0.0, -np.min(signs * (Xa @ v)), -np.min(signs * (Xa @ u))))
    directions = np.hstack([v, u]).T  # (2P, d)
    sign = np.concatenate([np.ones(P), -np.ones(P)])
    norms = np.linalg.norm(directions, axis=1)
    alive = norms > 0
    a = sign[alive] * np.sqrt(norms[alive])
    Wb = directions[alive] / np.sqrt(norms[alive])[:, None]
    outputs_each = np.maximum(Xa @ Wb.T, 0.0) * a  # (N, m): each neuron's contribution
    gens = np.vstack([outputs_each, (np.abs(a) * np.linalg.norm(Wb, axis=1))[None, :]])
    c = conic_caratheodory(gens, np.ones(a.size))
    keep = c > 0
    a, Wb = a[keep] * np.sqrt(c[keep]), Wb[keep] * np.sqrt(c[keep])[:, None]
    predictions = np.maximum(Xa @ Wb.T, 0.0) @ a
    value = float(np.mean((predictions - targets) ** 2) + lam * (np.sum(a**2) + np.sum(Wb**2)))
    lower = _dual_bound(Xa, targets, patterns, predictions - targets, lam)
    W, b = (Wb[:, :-1], Wb[:, -1]) if bias else (Wb, np.zeros(a.size))
    return ConvexOptimum(value=value, lower_bound=lower, a=a, W=W, b=b, status=str(problem.status),
                         patterns=P, mode=mode, violation=violation)
