"""CP tensor factorization trained by gradient descent on tensor completion (torch, CPU, einsum).

Source: Razin, Maman, Cohen, arXiv 2102.09972 (CLAIMS.md §10b). ``cp_completion`` returns the
trajectory other projects need to study implicit rank minimization: the loss, the norm
σ_r = Π_n ‖w_r^n‖ of every component, the alignment g_r = ⟨−∇ℓ(W), Ŵ_r⟩ of the loss gradient with
each unit component, a rank estimate, and the singular values of the tensor's mode-1 matricization
(whose count above a threshold is the rank of the completed tensor when the components are
orthogonal). ``lowest_cp_rank`` is the external reference: the least R for which tensorly's
alternating least squares fits a tensor to a relative error.
"""

from __future__ import annotations

import string
from dataclasses import dataclass

import numpy as np
import torch
from numpy.typing import ArrayLike, NDArray

from numerics.validation import nonnegative_float, positive_int


@dataclass(frozen=True)
class CPTrajectory:
    """times (n,), loss (n,), component norms σ (n, R), alignments g (n, R), estimated rank (n,)
    (components with σ_r above ``threshold``·max σ), final factors [(d_n, R)] for n = 1..N,
    ``probes`` (n, P, R): σ_r after a trial GD step of each size in ``probe_steps`` from the
    recorded state (P = 0 without probes), and ``unfolding`` (n, min(d_1, Π_{n>1} d_n)): the
    singular values of the mode-1 matricization of the tensor, descending."""

    times: NDArray[np.float64]
    loss: NDArray[np.float64]
    component_norms: NDArray[np.float64]
    alignments: NDArray[np.float64]
    ranks: NDArray[np.int64]
    factors: list[NDArray[np.float64]]
    probes: NDArray[np.float64]
    unfolding: NDArray[np.float64]


def cp_tensor(factors: list) -> torch.Tensor:
    """Σ_r w_r¹ ⊗ … ⊗ w_r^N from factor matrices (d_n, R) (torch or numpy), by one einsum."""
    tensors = [torch.as_tensor(f) for f in factors]
    letters = string.ascii_lowercase[: len(tensors)]
    spec = ",".join(f"{letter}z" for letter in letters) + "->" + letters
    return torch.einsum(spec, *tensors)


def _check(observed_values, observed_indices, shape, rank):
    dims = tuple(positive_int(d, "shape entry") for d in shape)
    if len(dims) < 2:
        raise ValueError(f"the tensor must have order >= 2, got shape {shape}")
    rank = positive_int(rank, "rank")
    indices = np.asarray(observed_indices)
    values = np.asarray(observed_values, dtype=np.float64)
    if indices.ndim != 2 or indices.shape[1] != len(dims) or indices.shape[0] == 0:
        raise ValueError(f"observed_indices must be a non-empty (k, {len(dims)}) integer array, "
                         f"got shape {indices.shape}")
    if values.shape != (indices.shape[0],):
        raise ValueError(f"observed_values must have shape ({indices.shape[0]},), got {values.shape}")
    if not np.issubdtype(indices.dtype, np.integer) or np.any(indices < 0) \
            or np.any(indices >= np.asarray(dims)):
        raise ValueError(f"observed_indices must be integer positions inside shape {dims}")
    return values, indices, dims, rank


def cp_completion(observed_values: ArrayLike, observed_indices: ArrayLike, shape: tuple[int, ...],
                  rank: int, init_scale: float, steps: int, lr: float, seed: int = 0, *,
                  record_every: int = 1, threshold: float = 0.1,
                  probe_steps: tuple[float, ...] = ()) -> CPTrajectory:
    """GD on ℓ(W) = ½Σ_{observed} (W[i] − y_i)² over the factors of a rank-``rank`` CP tensor.

    Initialization: each factor column is ``init_scale``^{1/N} times a random unit vector (seeded),
    so every component starts balanced with norm σ_r = init_scale. Records every ``record_every``
    steps (time = steps × lr) and always the last step; ``probe_steps`` adds, at each record, the
    component norms after trial steps θ − s·∇ℓ(θ) (s = lr is the step GD takes).
    """
    values, indices, dims, rank = _check(observed_values, observed_indices, shape, rank)
    scale = nonnegative_float(init_scale, "init_scale", positive=True)
    steps, lr = positive_int(steps, "steps"), nonnegative_float(lr, "lr", positive=True)
    every = positive_int(record_every, "record_every")
    generator = torch.Generator().manual_seed(seed)
    order = len(dims)
    factors = []
    for size in dims:
        direction = torch.randn(size, rank, generator=generator, dtype=torch.float64)
        factors.append((scale ** (1 / order) * direction / direction.norm(dim=0)).requires_grad_())
    where = tuple(torch.as_tensor(indices[:, n]) for n in range(order))
    target = torch.as_tensor(values)
    records: dict[str, list] = {"t": [], "loss": [], "sigma": [], "g": [], "probes": [], "unfolding": []}
    for step in range(steps + 1):
        tensor = cp_tensor(factors)
        residual = tensor[where] - target
        loss = 0.5 * torch.sum(residual**2)
        if step % every == 0 or step == steps:
            with torch.no_grad():
                gradient = torch.zeros(dims, dtype=torch.float64).index_put(where, residual,
                                                                            accumulate=True)
                norms = torch.stack([f.norm(dim=0) for f in factors])  # (N, R)
                units = [f / n for f, n in zip(factors, norms, strict=True)]
                letters = string.ascii_lowercase[:order]
                spec = letters + "," + ",".join(f"{c}z" for c in letters) + "->z"
                records["t"].append(step * lr)
                records["loss"].append(float(loss))
                records["sigma"].append(norms.prod(dim=0).numpy().copy())
                records["g"].append((-torch.einsum(spec, gradient, *units)).numpy().copy())
                records["unfolding"].append(torch.linalg.svdvals(tensor.reshape(dims[0], -1)).numpy())
        grads = torch.autograd.grad(loss, factors)
        if step % every == 0 or step == steps:
            with torch.no_grad():
                records["probes"].append(np.array([
                    torch.stack([(f - size * d).norm(dim=0) for f, d in zip(factors, grads,
                                                                              strict=True)])
                    .prod(dim=0).numpy() for size in probe_steps]).reshape(len(probe_steps), rank))
        if step == steps:
            break
        with torch.no_grad():
            for factor, grad in zip(factors, grads, strict=True):
                factor -= lr * grad
    sigma = np.asarray(records["sigma"])
    ranks = np.sum(sigma > threshold * sigma.max(axis=1, keepdims=True), axis=1)
    return CPTrajectory(np.asarray(records["t"]), np.asarray(records["loss"]), sigma,
                        np.asarray(records["g"]), ranks, [f.detach().numpy().copy() for f in factors],
                        np.asarray(records["probes"]), np.asarray(records["unfolding"]))


def lowest_cp_rank(tensor: ArrayLike, tol: float, max_rank: int = 8, seed: int = 0) -> tuple[int, float]:
    """The least R <= ``max_rank`` for which tensorly's CP decomposition (ALS from an SVD start)
    fits ``tensor`` to relative Frobenius error below ``tol``, and that error; (max_rank + 1, error
    at max_rank) when none does. An upper bound on the CP rank at tolerance ``tol`` (ALS may miss
    a fit that exists), from a library independent of this package."""
    import tensorly as tl
    from tensorly.decomposition import parafac

    array = np.asarray(tensor, dtype=np.float64)
    if array.ndim < 2 or array.size == 0 or not np.all(np.isfinite(array)):
        raise ValueError(f"tensor must be a finite array of order >= 2, got shape {array.shape}")
    tol = nonnegative_float(tol, "tol", positive=True)
    max_rank = positive_int(max_rank, "max_rank")
    norm = np.linalg.norm(array)
    error = 1.0
    for rank in range(1, max_rank + 1):
        cp = parafac(tl.tensor(array), rank=rank, n_iter_max=1000, tol=1e-12, init="svd",
                     random_state=seed)
        error = float(np.linalg.norm(tl.cp_to_tensor(cp) - array) / norm)
        if error < tol:
            return rank, error
    return max_rank + 1, error
