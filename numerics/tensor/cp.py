"""CP tensor factorization trained by gradient descent on tensor completion (torch, CPU, einsum).

Source: Razin, Maman, Cohen, "Implicit regularization in tensor factorization", ICML 2021,
arXiv 2102.09972. ``cp_completion`` returns the trajectory other projects need to study implicit
rank minimization: the loss, the norm σ_r = Π_n ‖w_r^n‖ of every component, the alignment
g_r = ⟨−∇ℓ(W), Ŵ_r⟩ of the loss gradient with each unit component, a rank estimate, and the singular
values of the tensor's mode-1 matricization (whose count above a threshold is the rank of the
completed tensor when the components are orthogonal). ``lowest_cp_rank`` is the external
reference: the least R for which tensorly's alternating least squares fits a tensor to a relative
error; ``cp_fit_error`` fits a CP tensor of given rank to observed entries of any order.
"""

from __future__ import annotations

import string
from dataclasses import dataclass

import numpy as np
import torch
from numpy.typing import ArrayLike, NDArray

from rankcheck.numerics.optim import finite_loss
from rankcheck.numerics.tensor._common import _check, _matricization_spectrum, _probe_sizes, _record_interval
from rankcheck.numerics.threads import torch_threads
from rankcheck.validation import as_finite, as_seed, nonnegative_float, positive_int

__all__ = [
    "CPTrajectory", "cp_tensor", "cp_completion", "lowest_cp_rank", "cp_entries", "RankFit",
    "cp_fit_error"
]

@dataclass(frozen=True)
class CPTrajectory:
    """The trajectory of ``cp_completion``: n records of a CP factorization with R components.

    Attributes
    ----------
    times : ndarray, shape (n,)
        Steps × lr at each record.
    loss : ndarray, shape (n,)
    component_norms : ndarray, shape (n, R)
        σ_r = Π_n ‖w_r^n‖.
    alignments : ndarray, shape (n, R)
        g_r = ⟨−∇ℓ(W), Ŵ_r⟩ with Ŵ_r the unit rank-one tensor of component r.
    ranks : ndarray of int64, shape (n,)
        Components with σ_r above ``threshold``·max σ.
    factors : list of ndarray, shapes (d_n, R)
        The final factor matrices, n = 1..N.
    probes : ndarray, shape (n, P, R)
        σ_r after a trial GD step of each size in ``probe_steps`` from the recorded state (P = 0
        without probes).
    unfolding : ndarray, shape (n, min(d_1, Π_{n>1} d_n))
        Singular values of the tensor's mode-1 matricization, descending.
    """

    times: NDArray[np.float64]
    loss: NDArray[np.float64]
    component_norms: NDArray[np.float64]
    alignments: NDArray[np.float64]
    ranks: NDArray[np.int64]
    factors: list[NDArray[np.float64]]
    probes: NDArray[np.float64]
    unfolding: NDArray[np.float64]


def cp_tensor(factors: list) -> torch.Tensor:
    """The CP tensor Σ_r w_r¹ ⊗ … ⊗ w_r^N from its factor matrices, by one einsum.

    Parameters
    ----------
    factors : list of tensor or ndarray, shapes (d_n, R)

    Returns
    -------
    torch.Tensor, shape (d_1, …, d_N)
    """
    tensors = [torch.as_tensor(f) for f in factors]
    letters = string.ascii_lowercase[: len(tensors)]
    spec = ",".join(f"{letter}z" for letter in letters) + "->" + letters
    return torch.einsum(spec, *tensors)


def _balanced_split(dims: tuple[int, ...]) -> int:
    """h in 1..N−1 making d_1⋯d_h and d_{h+1}⋯d_N closest (the matricization GD works on)."""
    logs = np.cumsum(np.log(dims))
    return int(np.argmin(np.abs(2 * logs[:-1] - logs[-1]))) + 1


def _khatri_rao(factors: list[torch.Tensor]) -> torch.Tensor:
    """Columnwise Kronecker product, rows in C order of (i_1, …, i_m): shape (Π d_n, R)."""
    product = factors[0]
    for factor in factors[1:]:
        product = (product[:, None, :] * factor[None, :, :]).reshape(-1, factor.shape[1])
    return product


def _group_gradients(factors: list[torch.Tensor], gradient: torch.Tensor) -> list[torch.Tensor]:
    """∂ℓ/∂A_n for the factors of one group from ∂ℓ/∂K, K their Khatri–Rao product (Π d_n, R):
    ∂ℓ/∂A_n[i, r] = Σ over the group's other indices of ∂ℓ/∂K · Π_{m≠n} A_m (broadcast products
    and sums: a fraction of torch.einsum's dispatch cost on blocks this small)."""
    sizes = [f.shape[0] for f in factors]
    block = gradient.reshape(*sizes, -1)
    grads = []
    for own in range(len(factors)):
        part = block
        for other in range(len(factors)):
            if other != own:
                shape = [1] * block.dim()
                shape[other], shape[-1] = sizes[other], block.shape[-1]
                part = (part * factors[other].reshape(shape)).sum(dim=other, keepdim=True)
        grads.append(part.reshape(sizes[own], -1))
    return grads


def cp_completion(observed_values: ArrayLike, observed_indices: ArrayLike, shape: tuple[int, ...],
                  rank: int, init_scale: float, steps: int, lr: float, seed: int = 0, *,
                  record_every: int | None = None, threshold: float = 0.1,
                  probe_steps: tuple[float, ...] = (), threads: int | None = 1) -> CPTrajectory:
    """Gradient descent on ℓ(W) = ½Σ_observed (W[i] − y_i)² over the factors of a rank-R CP tensor.

    Source: Razin, Maman, Cohen 2021, arXiv 2102.09972 (incremental rank learning from small
    initialization). Each factor column starts as ``init_scale``^{1/N} times a random unit vector, so
    every component starts balanced with norm σ_r = init_scale. Records every ``record_every`` steps
    (time = steps × lr) and always the last step.

    Each step works on the balanced matricization W = K_S K_Tᵀ (K_S, K_T the Khatri–Rao products of
    the first and last modes' factors): the residual E on the observed entries, then ∂ℓ/∂K_S = E K_T
    and ∂ℓ/∂K_T = Eᵀ K_S by matrix products, then each factor's gradient by one contraction — no
    autograd (order 4, 10 per mode, rank 100, 2 000 observed: about 2 000 steps/s, notes/tensor.md).

    Parameters
    ----------
    observed_values : array_like, shape (k,)
        The observed entries y_i.
    observed_indices : array_like of int, shape (k, N)
        Their positions (i_1, …, i_N) inside ``shape``.
    shape : tuple of int, length N >= 2
        (d_1, …, d_N).
    rank : int
        R >= 1, the number of components.
    init_scale : float
        σ_r at initialization, > 0.
    steps : int
    lr : float
        Step size, > 0.
    seed : int, default 0
        Seed of torch's generator (the initial directions).
    record_every : int or None, default None
        None: every max(5, steps // 100) steps (about 100 records; a record costs under half a step,
        so recording adds under 10 % to the run).
    threshold : float, default 0.1
        Rank estimate: components with σ_r > threshold·max σ.
    probe_steps : tuple of float, default ()
        At each record, also the component norms after trial steps θ − s·∇ℓ(θ) (s = lr is the step
        GD takes).
    threads : int or None, default 1
        torch threads for the run (``numerics.threads.torch_threads``); None keeps torch's setting.

    Returns
    -------
    CPTrajectory

    Raises
    ------
    ValueError
        Naming the argument: a shape of order < 2 or with non-positive entries, ``rank`` < 1,
        indices outside ``shape`` or of another count than the values, a non-positive
        ``init_scale``, ``lr`` or probe step, ``steps``, ``record_every`` or ``threads`` < 1.
    NotConvergedError
        When the loss becomes non-finite (the step diverged).
    """
    values, indices, dims, rank = _check(observed_values, observed_indices, shape, rank)
    scale = nonnegative_float(init_scale, "init_scale", positive=True)
    steps, lr = positive_int(steps, "steps"), nonnegative_float(lr, "lr", positive=True)
    every = _record_interval(record_every, steps, gap=5)  # a record: ~0.4 steps (notes/tensor.md)
    probe_steps = _probe_sizes(probe_steps)
    with torch_threads(threads):
        return _cp_descent(values, indices, dims, rank, scale, steps, lr, as_seed(seed), every,
                           threshold, probe_steps)


def _cp_descent(values: NDArray, indices: NDArray, dims: tuple[int, ...], rank: int, scale: float,
                steps: int, lr: float, seed: int, every: int, threshold: float,
                probe_steps: tuple[float, ...]) -> CPTrajectory:
    """``cp_completion`` on validated arguments."""
    generator = torch.Generator().manual_seed(seed)
    order = len(dims)
    factors = []
    for size in dims:
        direction = torch.randn(size, rank, generator=generator, dtype=torch.float64)
        factors.append(scale ** (1 / order) * direction / direction.norm(dim=0))
    split = _balanced_split(dims)
    linear = torch.as_tensor(np.ravel_multi_index(tuple(indices.T), dims))
    target = torch.as_tensor(values)
    cells = int(np.prod(dims))
    records: dict[str, list] = {"t": [], "loss": [], "sigma": [], "g": [], "probes": [], "unfolding": []}
    for step in range(steps + 1):
        left, right = _khatri_rao(factors[:split]), _khatri_rao(factors[split:])
        matrix = left @ right.T
        residual = matrix.reshape(-1)[linear] - target
        loss = float(finite_loss(0.5 * (residual @ residual), "cp_completion", step))
        error = torch.zeros(cells, dtype=torch.float64).index_add_(0, linear, residual)
        error = error.reshape(matrix.shape)
        to_left, to_right = error @ right, error.T @ left
        grads = _group_gradients(factors[:split], to_left) + _group_gradients(factors[split:], to_right)
        if step % every == 0 or step == steps:
            sigma = torch.stack([f.square().sum(dim=0) for f in factors]).prod(dim=0).sqrt()  # (R,)
            records["t"].append(step * lr)
            records["loss"].append(loss)
            records["sigma"].append(sigma.numpy().copy())
            records["g"].append((-(left * to_left).sum(dim=0) / sigma).numpy())  # ⟨−E, W_r⟩/σ_r
            records["unfolding"].append(_matricization_spectrum(matrix.reshape(dims).numpy(), [0]))
            records["probes"].append(np.array([
                torch.stack([(f - size * d).norm(dim=0) for f, d in zip(factors, grads, strict=True)])
                .prod(dim=0).numpy() for size in probe_steps]).reshape(len(probe_steps), rank))
        if step == steps:
            break
        for factor, grad in zip(factors, grads, strict=True):
            factor -= lr * grad
    sigma = np.asarray(records["sigma"])
    ranks = np.sum(sigma > threshold * sigma.max(axis=1, keepdims=True), axis=1)
    return CPTrajectory(np.asarray(records["t"]), np.asarray(records["loss"]), sigma,
                        np.asarray(records["g"]), ranks, [f.numpy().copy() for f in factors],
                        np.asarray(records["probes"]), np.asarray(records["unfolding"]))


def lowest_cp_rank(tensor: ArrayLike, tol: float, max_rank: int = 8, seed: int = 0) -> tuple[int, float]:
    """The least R <= ``max_rank`` for which tensorly's CP decomposition fits ``tensor`` to ``tol``.

    ALS from an SVD start, relative Frobenius error: an upper bound on the CP rank at tolerance
    ``tol`` (ALS may miss a fit that exists), from a library independent of this package.

    Parameters
    ----------
    tensor : array_like, order >= 2
    tol : float
        Relative Frobenius error, > 0.
    max_rank : int, default 8
    seed : int, default 0
        Seed of tensorly's random state.

    Returns
    -------
    rank : int
        The least R that fits, or ``max_rank + 1`` when none does; 0 for the zero tensor.
    error : float
        The relative error at that R (at ``max_rank`` when none fits).

    Raises
    ------
    ValueError
        Naming the argument: a tensor that is not finite or of order < 2, a non-positive ``tol``,
        ``max_rank`` < 1.
    """
    import tensorly as tl
    from tensorly.decomposition import parafac

    array = as_finite(tensor, "tensor")
    if array.ndim < 2 or array.size == 0 or not np.all(np.isfinite(array)):
        raise ValueError(f"tensor must be a finite array of order >= 2, got shape {array.shape}")
    tol = nonnegative_float(tol, "tol", positive=True)
    max_rank = positive_int(max_rank, "max_rank")
    norm = np.linalg.norm(array)
    if norm == 0:
        return 0, 0.0  # the zero tensor is the empty sum: CP rank 0, exactly
    error = 1.0
    for rank in range(1, max_rank + 1):
        cp = parafac(tl.tensor(array), rank=rank, n_iter_max=1000, tol=1e-12, init="svd",
                     random_state=seed)
        error = float(np.linalg.norm(tl.cp_to_tensor(cp) - array) / norm)
        if error < tol:
            return rank, error
    return max_rank + 1, error


def cp_entries(factors: torch.Tensor, indices: torch.Tensor) -> torch.Tensor:
    """Entries W[i] = Σ_r Π_n A_n[i_n, r] of a CP tensor at given positions, never the full tensor.

    A gather and a product: fine for tensors with d^N entries far beyond memory (4¹⁶).

    Parameters
    ----------
    factors : torch.Tensor, shape (N, d, R)
        The N factor matrices stacked (equal dimensions d).
    indices : torch.Tensor of int64, shape (k, N)

    Returns
    -------
    torch.Tensor, shape (k,)
    """
    modes = torch.arange(factors.shape[0])
    return factors[modes[None, :], indices].prod(dim=1).sum(dim=1)


@dataclass(frozen=True)
class RankFit:
    """Outcome of ``cp_fit_error``.

    Attributes
    ----------
    error : float
        The best relative error ‖W_obs − y‖/‖y‖ over the restarts.
    restarts : ndarray, shape (restarts,)
        Every restart's error (their spread is the fit's optimization noise).
    """

    error: float
    restarts: NDArray[np.float64]


def cp_fit_error(observed_values: ArrayLike, observed_indices: ArrayLike, shape: tuple[int, ...],
                 rank: int, *, steps: int = 2000, lr: float = 0.02, restarts: int = 2,
                 seed: int = 0) -> RankFit:
    """Distance of observed entries from the rank-R CP tensors, by fitting with Adam.

    The least relative error ‖W[i] − y‖/‖y‖ over the observed entries reached from ``restarts``
    seeded starts: an upper bound on the true distance (the fit is non-convex). Any order: entries
    come from ``cp_entries``. Start: factor entries 1 + 0.3·N(0, 1) (products of many factors stay
    O(1)), component weights 0.1·N(0, 1) folded into the first factor.

    Parameters
    ----------
    observed_values : array_like, shape (k,)
        The observed entries y_i.
    observed_indices : array_like of int, shape (k, N)
        Their positions (i_1, …, i_N) inside ``shape``.
    shape : tuple of int, length N >= 2
        (d_1, …, d_N).
        All d_n equal (one-hot encoded inputs).
    rank : int
        R >= 1.
    steps : int, default 2000
    lr : float, default 0.02
    restarts : int, default 2
    seed : int, default 0

    Returns
    -------
    RankFit

    Raises
    ------
    ValueError
        Naming the argument: unequal dimensions, bad observations (as ``cp_completion``), observed
        values all 0, a non-positive ``lr``, ``steps`` or ``restarts`` < 1.
    """
    values, indices, dims, rank = _check(observed_values, observed_indices, shape, rank)
    if len(set(dims)) != 1:
        raise ValueError(f"cp_fit_error needs equal dimensions (one-hot encoded inputs), got shape {dims}")
    if not np.any(values):
        raise ValueError("observed_values are all 0: the relative error ‖W[i] − y‖/‖y‖ needs ‖y‖ > 0")
    steps, restarts = positive_int(steps, "steps"), positive_int(restarts, "restarts")
    lr = nonnegative_float(lr, "lr", positive=True)
    target, where = torch.as_tensor(values), torch.as_tensor(indices)
    errors = []
    for restart in range(restarts):
        generator = torch.Generator().manual_seed(as_seed(seed) * 1000 + restart)
        factors = 1 + 0.3 * torch.randn(len(dims), dims[0], rank, generator=generator, dtype=torch.float64)
        factors[0] *= 0.1 * torch.randn(rank, generator=generator, dtype=torch.float64)
        factors.requires_grad_()
        optimizer = torch.optim.Adam([factors], lr=lr)
        for step in range(steps):
            loss = finite_loss(torch.sum((cp_entries(factors, where) - target) ** 2), "cp_fit_error", step)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        with torch.no_grad():
            residual = torch.linalg.norm(cp_entries(factors, where) - target)
        errors.append(float(residual / torch.linalg.norm(target)))
    return RankFit(min(errors), np.asarray(errors))
