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

from numerics.validation import NotConvergedError, nonnegative_float, positive_int


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


def _probe_sizes(sizes) -> tuple[float, ...]:
    return tuple(nonnegative_float(size, "probe_steps entry", positive=True) for size in sizes)


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
    probe_steps = _probe_sizes(probe_steps)
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
                records["unfolding"].append(_matricization_spectrum(tensor.numpy(), [0]))
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


def cp_entries(factors: torch.Tensor, indices: torch.Tensor) -> torch.Tensor:
    """Entries W[i] = Σ_r Π_n A_n[i_n, r] of a CP tensor at the rows of ``indices`` (k, N), from
    ``factors`` stacked as one (N, d, R) array: a gather and a product, never the full tensor (which
    has d^N entries)."""
    modes = torch.arange(factors.shape[0])
    return factors[modes[None, :], indices].prod(dim=1).sum(dim=1)


@dataclass(frozen=True)
class RankFit:
    """Output of ``cp_fit_error``: the best relative error ‖W_obs − y‖/‖y‖ over the restarts, and
    every restart's error (their spread is the fit's optimization noise)."""

    error: float
    restarts: NDArray[np.float64]


def cp_fit_error(observed_values: ArrayLike, observed_indices: ArrayLike, shape: tuple[int, ...],
                 rank: int, *, steps: int = 2000, lr: float = 0.02, restarts: int = 2,
                 seed: int = 0) -> RankFit:
    """Distance of the observations from the rank-``rank`` CP tensors, by fitting: the least relative
    error ‖W[i] − y‖/‖y‖ over the observed entries reached by Adam (``steps``, ``lr``) from
    ``restarts`` seeded starts. An upper bound on the true distance (the fit is non-convex).

    Any order: entries come from ``cp_entries`` (a gather), so tensors with 4¹⁶ entries are fine.
    Start: factor entries 1 + 0.3·N(0, 1) (products of many factors stay O(1)), component weights
    0.1·N(0, 1) folded into the first factor."""
    values, indices, dims, rank = _check(observed_values, observed_indices, shape, rank)
    if len(set(dims)) != 1:
        raise ValueError(f"cp_fit_error needs equal dimensions (one-hot encoded inputs), got shape {dims}")
    steps, restarts = positive_int(steps, "steps"), positive_int(restarts, "restarts")
    lr = nonnegative_float(lr, "lr", positive=True)
    target, where = torch.as_tensor(values), torch.as_tensor(indices)
    errors = []
    for restart in range(restarts):
        generator = torch.Generator().manual_seed(seed * 1000 + restart)
        factors = 1 + 0.3 * torch.randn(len(dims), dims[0], rank, generator=generator, dtype=torch.float64)
        factors[0] *= 0.1 * torch.randn(rank, generator=generator, dtype=torch.float64)
        factors.requires_grad_()
        optimizer = torch.optim.Adam([factors], lr=lr)
        for _ in range(steps):
            loss = torch.sum((cp_entries(factors, where) - target) ** 2)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        with torch.no_grad():
            residual = torch.linalg.norm(cp_entries(factors, where) - target)
        errors.append(float(residual / torch.linalg.norm(target)))
    return RankFit(min(errors), np.asarray(errors))


def digits_tensor_data(pool: int = 2, levels: int = 4) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """scikit-learn's bundled 8×8 digits (1 797 images, no download) as tensor-completion data:
    each image, average-pooled over ``pool``×``pool`` blocks and its intensities (0–16) cut into
    ``levels`` equal bins, is an index (i_1, …, i_N) into a tensor of order N = (8/pool)² and side
    ``levels``; its label is +1 for digits 0–4 and −1 for 5–9. Returns (indices (1797, N), labels)."""
    from sklearn.datasets import load_digits

    pool, levels = positive_int(pool, "pool"), positive_int(levels, "levels", minimum=2)
    if 8 % pool:
        raise ValueError(f"pool must divide 8, got {pool}")
    digits = load_digits()
    side = 8 // pool
    images = digits.images.reshape(-1, side, pool, side, pool).mean(axis=(2, 4))
    indices = np.minimum((images / 16.0 * levels).astype(np.int64), levels - 1).reshape(len(images), -1)
    return indices, np.where(digits.target < 5, 1.0, -1.0)


# ---------------------------------------------------------------------------------------------
# Hierarchical tensor factorization (a binary tree over the modes)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HTFTrajectory:
    """Output of ``htf_completion``: times (n,), loss (n,), ``local_norms`` (n, nodes, R) — for each
    internal node of the tree (level by level from the bottom, the root last) the norms of its R
    local components, ‖child₁ column r‖·‖child₂ column r‖·‖row r of the node‖ — and
    ``spectra`` (n, len(tree_nodes), k): the singular values of the matricization of the tensor with
    the modes of each non-root tree node as rows (``tree_nodes``; padded with 0 to k), whose counts
    above a threshold are the hierarchical ranks; the final ``leaves`` (d_n, R), ``nodes`` (R, R) and
    ``root`` (R,); ``alignments`` (n, nodes, R): g = ⟨−∇ℓ(W), C⟩/σ for each local component, C its
    contribution to the tensor (``local_contributions``) and σ its norm, computed as −⟨z, ∇_z ℓ⟩/σ
    with z the component's row of the node's matrix; ``probes`` (n, P, nodes, R):
    the local norms after a trial GD step of each size in ``probe_steps`` from the recorded state
    (``htf_completion`` only; P = 0 without probes)."""

    times: NDArray[np.float64]
    loss: NDArray[np.float64]
    local_norms: NDArray[np.float64]
    spectra: NDArray[np.float64]
    leaves: list[NDArray[np.float64]]
    nodes: list[NDArray[np.float64]]
    root: NDArray[np.float64]
    alignments: NDArray[np.float64]
    probes: NDArray[np.float64]


def tree_nodes(order: int) -> list[list[int]]:
    """The mode sets of the non-root nodes of the perfect binary tree over ``order`` = 2^L modes,
    leaves first: [[0], [1], …, [0, 1], [2, 3], …, [0, …, N/2 − 1], [N/2, …, N − 1]]."""
    levels = _tree_levels(order)
    return [list(range(start, start + 2**level)) for level in range(levels)
            for start in range(0, order, 2**level)]


def _tree_levels(order: int) -> int:
    levels = int(round(np.log2(order)))
    if order < 2 or 2**levels != order:
        raise ValueError(f"the hierarchical factorization needs an order that is a power of 2 (>= 2), "
                         f"got {order}")
    return levels


def htf_tensor(leaves: list, nodes: list, root) -> torch.Tensor:
    """The tensor of a hierarchical factorization over a perfect binary tree of the N = 2^L modes.

    ``leaves``: N matrices (d_n, R); ``nodes``: the internal non-root nodes level by level from the
    bottom, N/2 + N/4 + … + 2 matrices (R, R); ``root``: (R,). A node with children φ_a (D_a, R),
    φ_b (D_b, R) and matrix M gives φ (D_a·D_b, R) with φ[(i, j), s] = Σ_r φ_a[i, r]·φ_b[j, r]·M[r, s];
    the root gives W[(i, j)] = Σ_r φ_a[i, r]·φ_b[j, r]·root[r], reshaped to (d_1, …, d_N).
    """
    current = [torch.as_tensor(leaf) for leaf in leaves]
    dims = [c.shape[0] for c in current]
    matrices = iter(torch.as_tensor(m) for m in nodes)
    while len(current) > 2:
        current = [torch.einsum("ir,jr,rs->ijs", a, b, next(matrices)).reshape(-1, a.shape[1])
                   for a, b in zip(current[0::2], current[1::2], strict=True)]
    left, right = current
    return torch.einsum("ir,jr,r->ij", left, right, torch.as_tensor(root)).reshape(dims)


def _local_norms(leaves: list, nodes: list, root) -> torch.Tensor:
    """(internal nodes, R): ‖child₁ column r‖·‖child₂ column r‖·‖node row r‖ (root rows are scalars)."""
    children = [leaf.norm(dim=0) for leaf in leaves]  # column norms of each child's matrix
    out, k = [], 0
    while len(children) > 2:
        parents = []
        for a, b in zip(children[0::2], children[1::2], strict=True):
            out.append(a * b * nodes[k].norm(dim=1))
            parents.append(nodes[k].norm(dim=0))
            k += 1
        children = parents
    out.append(children[0] * children[1] * root.abs())
    return torch.stack(out)


def local_contributions(leaves: list, nodes: list, root) -> torch.Tensor:
    """(internal nodes, R, d_1, …, d_N): C_{ν,r}, the tensor of the factorization with only the r-th
    term kept at node ν (row r of its matrix, entry r of the root; internal nodes level by level
    from the bottom, the root last, as in ``HTFTrajectory.local_norms``). The tensor is linear in
    that term's scale, W(ε) = W + ε·C_{ν,r} when the r-th local component is scaled by 1 + ε, and
    Σ_r C_{ν,r} = W at every node ν."""
    leaves, nodes = [torch.as_tensor(m) for m in leaves], [torch.as_tensor(m) for m in nodes]
    root = torch.as_tensor(root)
    out = []
    for k in range(len(nodes) + 1):
        per_term = []
        for r in range(root.shape[0]):
            keep = torch.zeros_like(root)
            keep[r] = 1.0
            if k < len(nodes):
                kept = [keep[:, None] * m if j == k else m for j, m in enumerate(nodes)]
                per_term.append(htf_tensor(leaves, kept, root))
            else:
                per_term.append(htf_tensor(leaves, nodes, keep * root))
        out.append(torch.stack(per_term))
    return torch.stack(out)


def _htf_start(dims: tuple[int, ...], rank: int, init_scale: float, seed: int) -> list[torch.Tensor]:
    """Balanced start, [leaves…, nodes…, root]: leaf columns random unit vectors, node matrices
    random orthogonal (unit rows and columns), root entries ±1, all scaled by init_scale^{1/3}, so
    every local component has norm ``init_scale``."""
    scale = nonnegative_float(init_scale, "init_scale", positive=True) ** (1 / 3)
    generator = torch.Generator().manual_seed(seed)
    leaves = []
    for size in dims:
        draw = torch.randn(size, rank, generator=generator, dtype=torch.float64)
        leaves.append(scale * draw / draw.norm(dim=0))
    nodes = [scale * torch.linalg.qr(torch.randn(rank, rank, generator=generator, dtype=torch.float64))[0]
             for _ in range(len(dims) - 2)]
    root = scale * torch.sign(torch.randn(rank, generator=generator, dtype=torch.float64))
    return leaves + nodes + [root]


class _HTFProblem:
    """The completion loss ℓ = ½Σ_observed (W[i] − y_i)² of a hierarchical factorization, and the
    per-record measurements (local norms, tree-node spectra) shared by GD and the flow."""

    def __init__(self, observed_values, observed_indices, shape, rank):
        values, indices, self.dims, self.rank = _check(observed_values, observed_indices, shape, rank)
        _tree_levels(len(self.dims))  # the order must be a power of 2
        self.where = tuple(torch.as_tensor(indices[:, n]) for n in range(len(self.dims)))
        self.target = torch.as_tensor(values)
        self.records: dict[str, list] = {"t": [], "loss": [], "norms": [], "spectra": [], "alignments": [],
                                         "probes": []}

    def split(self, params: list) -> tuple[list, list, torch.Tensor]:
        order = len(self.dims)
        return params[:order], params[order:-1], params[-1]

    def loss(self, params: list) -> torch.Tensor:
        return self._loss_of(htf_tensor(*self.split(params)))

    def _loss_of(self, tensor: torch.Tensor) -> torch.Tensor:
        return 0.5 * torch.sum((tensor[self.where] - self.target) ** 2)

    def _inner_products(self, params: list, grads: list | None) -> torch.Tensor:
        """(internal nodes, R): ⟨−∇ℓ(W), C_{ν,r}⟩ = −⟨z, ∇_z ℓ⟩ for z = row r of ν's matrix (entry
        r of the root) — scaling z scales the r-th term of ν (``local_contributions``) — from the
        parameter gradients ``grads`` (one backward pass when None) instead of R·(nodes) tree
        contractions."""
        params = [p.detach() for p in params]
        if grads is None:
            tracked = [p.requires_grad_() for p in params]
            with torch.enable_grad():
                grads = list(torch.autograd.grad(self.loss(tracked), tracked))
        _, nodes, root = self.split(params)
        _, node_grads, root_grad = self.split(list(grads))
        rows = [-(m * g).sum(dim=1) for m, g in zip(nodes, node_grads, strict=True)]
        return torch.stack([*rows, -(root * root_grad)]).detach()

    def record(self, time: float, params: list, grads: list | None = None) -> None:
        """Record the state ``params`` at ``time``; ``grads``: ∇ℓ at ``params`` when already known."""
        inner = self._inner_products(params, grads)
        with torch.no_grad():
            tensor = htf_tensor(*self.split(params))
            self.records["t"].append(time)
            self.records["loss"].append(float(self._loss_of(tensor)))
            norms = _local_norms(*self.split(params))
            self.records["norms"].append(norms.numpy().copy())
            self.records["alignments"].append((inner / norms).numpy().copy())
            self.records["spectra"].append(tree_spectra(tensor.numpy()))

    def probe(self, params: list, grads: list, sizes: tuple[float, ...]) -> None:
        """Record the local norms after the trial steps θ − s·∇ℓ(θ), s in ``sizes``."""
        with torch.no_grad():
            self.records["probes"].append(np.array([
                _local_norms(*self.split([p - size * d for p, d in zip(params, grads, strict=True)]))
                .numpy() for size in sizes]).reshape(len(sizes), len(self.dims) - 1, self.rank))

    def trajectory(self, params: list) -> HTFTrajectory:
        leaves, nodes, root = self.split([p.detach().numpy().copy() for p in params])
        r = self.records
        return HTFTrajectory(np.asarray(r["t"]), np.asarray(r["loss"]), np.asarray(r["norms"]),
                             np.asarray(r["spectra"]), leaves, nodes, root, np.asarray(r["alignments"]),
                             np.asarray(r["probes"]))


def htf_completion(observed_values: ArrayLike, observed_indices: ArrayLike, shape: tuple[int, ...],
                   rank: int, init_scale: float, steps: int, lr: float, seed: int = 0, *,
                   record_every: int = 1, probe_steps: tuple[float, ...] = ()) -> HTFTrajectory:
    """GD on ℓ(W) = ½Σ_{observed} (W[i] − y_i)² over a hierarchical factorization of width ``rank``
    at every node (``htf_tensor``), order a power of 2, from the balanced start of ``_htf_start``
    (every local component with norm ``init_scale``). Records every ``record_every`` steps and the
    last (time = steps × lr); ``probe_steps`` adds, at each record, the local norms after trial
    steps θ − s·∇ℓ(θ) (s = lr is the step GD takes)."""
    problem = _HTFProblem(observed_values, observed_indices, shape, rank)
    steps, lr = positive_int(steps, "steps"), nonnegative_float(lr, "lr", positive=True)
    every = positive_int(record_every, "record_every")
    probe_steps = _probe_sizes(probe_steps)
    params = [p.requires_grad_() for p in _htf_start(problem.dims, problem.rank, init_scale, seed)]
    for step in range(steps + 1):
        loss = problem.loss(params)
        if not torch.isfinite(loss):
            raise NotConvergedError(f"htf_completion diverged at step {step} (loss {loss.item()}): "
                                    "lower lr or init_scale")
        grads = torch.autograd.grad(loss, params)
        if step % every == 0 or step == steps:
            problem.record(step * lr, params, grads)
            problem.probe(params, grads, probe_steps)
        if step == steps:
            break
        with torch.no_grad():
            for param, grad in zip(params, grads, strict=True):
                param -= lr * grad
    return problem.trajectory(params)


class _BudgetSpent(Exception):
    """Raised inside the integrator's right-hand side to stop ``htf_flow`` at its budget."""


def htf_flow(observed_values: ArrayLike, observed_indices: ArrayLike, shape: tuple[int, ...],
             rank: int, init_scale: float, seed: int = 0, *, max_time: float = 1e8, rtol: float = 1e-4,
             stop_ratio: float = 1e-6, record_every: int = 1,
             max_evaluations: int = 50_000) -> HTFTrajectory:
    """Gradient flow dθ/dt = −∇ℓ(θ) of the same factorization and loss as ``htf_completion``,
    integrated by scipy's BDF (implicit, relative tolerance ``rtol``, absolute rtol·1e-3) with the
    exact Hessian from ``torch.func`` as Jacobian, until ℓ ≤ ``stop_ratio``·½‖y‖² (the loss of
    the zero tensor).

    Why implicit: small initializations sit on a plateau of length ∝ init_scale^{−5/3} (order 4:
    seven factors of scale init_scale^{1/3}, each moving at a rate ∝ its scale⁶);
    once a component is learned the flow is stiff (curvature ~10 along it) while the next one
    escapes its saddle over thousands of time units, so explicit steps (GD, RK45) need 10⁴–10⁵
    steps where BDF needs a few hundred. Records every ``record_every`` accepted steps and the
    last. Raises ``NotConvergedError`` when ``max_time`` passes before the stopping loss, or when
    the integrator has evaluated the gradient ``max_evaluations`` times (a deterministic budget,
    about 5 minutes on one core: typical runs need ~10³; on some draws the flow creeps after its
    escape, stiff and slow at once, and BDF would need hours)."""
    from scipy.integrate import solve_ivp

    problem = _HTFProblem(observed_values, observed_indices, shape, rank)
    max_time = nonnegative_float(max_time, "max_time", positive=True)
    rtol = nonnegative_float(rtol, "rtol", positive=True)
    stop_ratio = nonnegative_float(stop_ratio, "stop_ratio", positive=True)
    every = positive_int(record_every, "record_every")
    budget = positive_int(max_evaluations, "max_evaluations")
    start = _htf_start(problem.dims, problem.rank, init_scale, seed)
    shapes = [p.shape for p in start]
    cuts = [int(c) for c in np.cumsum([p.numel() for p in start])[:-1]]

    def unpack(vector) -> list[torch.Tensor]:
        flat = torch.as_tensor(vector)
        pieces = torch.tensor_split(flat, cuts)
        return [piece.reshape(size) for piece, size in zip(pieces, shapes, strict=True)]

    def loss(flat: torch.Tensor) -> torch.Tensor:
        return problem.loss(unpack(flat))

    gradient, hessian = torch.func.grad(loss), torch.func.hessian(loss)
    stop_loss = stop_ratio * 0.5 * float(torch.sum(problem.target**2))

    def converged(_: float, vector: NDArray) -> float:
        return float(loss(torch.as_tensor(vector))) - stop_loss

    converged.terminal = True
    seen = {"evaluations": 0, "time": 0.0}

    def velocity(time: float, vector: NDArray) -> NDArray:
        seen["evaluations"] += 1
        seen["time"] = max(seen["time"], time)
        if seen["evaluations"] > budget:
            raise _BudgetSpent
        return -gradient(torch.as_tensor(vector)).numpy()

    try:
        solution = solve_ivp(velocity, (0.0, max_time), torch.cat([p.ravel() for p in start]).numpy(),
                             method="BDF", jac=lambda _, v: -hessian(torch.as_tensor(v)).numpy(),
                             rtol=rtol, atol=rtol * 1e-3, events=converged)
    except _BudgetSpent:
        raise NotConvergedError(f"htf_flow: {budget} gradient evaluations spent by time "
                                f"{seen['time']:.4g} before the loss reached {stop_loss:.3g}; raise "
                                "max_evaluations") from None
    if solution.status != 1:
        raise NotConvergedError(f"htf_flow: loss {float(loss(torch.as_tensor(solution.y[:, -1]))):.3g} "
                                f"still above {stop_loss:.3g} at time {solution.t[-1]:.3g} "
                                f"({solution.message}); raise max_time")
    for k in sorted(set(range(0, solution.t.size, every)) | {solution.t.size - 1}):
        problem.record(float(solution.t[k]), unpack(solution.y[:, k]))
    return problem.trajectory(unpack(solution.y[:, -1]))


def tree_spectra(tensor: ArrayLike) -> NDArray[np.float64]:
    """(len(tree_nodes), k): the singular values of the matricization of ``tensor`` (order 2^L) with
    the modes of each non-root tree node as rows, descending, padded with 0 to the longest k; their
    counts above a threshold are the hierarchical ranks."""
    array = np.asarray(tensor, dtype=np.float64)
    spectra = [_matricization_spectrum(array, g) for g in tree_nodes(array.ndim)]
    width = max(len(sv) for sv in spectra)
    return np.array([np.pad(sv, (0, width - len(sv))) for sv in spectra])


def _matricization_spectrum(tensor: NDArray, modes: list[int]) -> NDArray:
    """Singular values of the matricization of ``tensor`` with the given modes as rows."""
    rest = [m for m in range(tensor.ndim) if m not in modes]
    rows = int(np.prod([tensor.shape[m] for m in modes]))
    return np.linalg.svd(np.transpose(tensor, modes + rest).reshape(rows, -1), compute_uv=False)


# ---------------------------------------------------------------------------------------------
# Countering locality: a long-range task and the input-gradient-change regularizer
# ---------------------------------------------------------------------------------------------

DIGIT = 8  # side of scikit-learn's digit images
TRAIN_DIGITS = 1000  # digit images reserved for training canvases; the other 797 build test canvases
COUPLING_SAMPLES = 500  # test canvases on which the final coupling (mean |cos|) is measured


def same_class_canvas(samples: int, width: int = 32, noise: float = 0.2, split: str = "train",
                      seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """A task whose label needs a long-range interaction: an 8 × ``width`` canvas of uniform noise
    in [0, ``noise``] with one of scikit-learn's digits (intensities scaled to [0, 1]) at its left
    end and one at its right end; label 1 when the two digits are of the same class, 0 otherwise
    (balanced). Train and test canvases use disjoint digit images (a fixed split of the 1 797).
    Returns (images (samples, 1, 8, width) float32, labels (samples,) int64)."""
    from sklearn.datasets import load_digits

    samples = positive_int(samples, "samples")
    width = positive_int(width, "width", minimum=2 * DIGIT)
    noise = nonnegative_float(noise, "noise")
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    digits = load_digits()
    order = np.random.default_rng(0).permutation(len(digits.target))
    chosen = order[:TRAIN_DIGITS] if split == "train" else order[TRAIN_DIGITS:]
    images, classes = digits.images[chosen] / 16.0, digits.target[chosen]
    rng = np.random.default_rng(seed)
    same = rng.permutation(np.arange(samples) % 2)
    left = rng.integers(0, len(chosen), samples)
    right = np.array([rng.choice(np.flatnonzero((classes == classes[i]) == bool(s)))
                      for i, s in zip(left, same, strict=True)])
    canvas = rng.uniform(0.0, noise, (samples, 1, DIGIT, width))
    canvas[:, 0, :, :DIGIT], canvas[:, 0, :, -DIGIT:] = images[left], images[right]
    return torch.tensor(canvas, dtype=torch.float32), torch.tensor(same, dtype=torch.int64)


def locality_cnn(width: int, channels: int = 16) -> torch.nn.Sequential:
    """A CNN for 8 × ``width`` canvases whose receptive field reaches across the canvas: blocks of
    3×3 convolution + ReLU separated by max-pooling (2×2 twice, then 1×2) until the receptive field
    reaches ``width`` columns, global average pooling, a linear read-out to two logits. The
    poolings' alignment can leave the widest unit one edge column short (fields [0, W − 2] and
    [1, W − 1] at widths 32 and 64): a single unit still sees ≥ 7 of the 8 columns of each digit."""
    width, channels = positive_int(width, "width"), positive_int(channels, "channels")
    layers: list[torch.nn.Module] = [torch.nn.Conv2d(1, channels, 3, padding=1), torch.nn.ReLU()]
    field, jump = 3, 1
    while field < width:
        layers += [torch.nn.MaxPool2d(2 if len(layers) < 6 else (1, 2)),
                   torch.nn.Conv2d(channels, channels, 3, padding=1), torch.nn.ReLU()]
        field, jump = field + jump + 2 * 2 * jump, 2 * jump
    return torch.nn.Sequential(*layers, torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(),
                               torch.nn.Linear(channels, 2))


Patch = tuple[int, int, int]  # (top row, left column, side)


def _check_distance(width: int, side: int, distance: int) -> None:
    if distance < side or width - side < distance:
        raise ValueError(f"distance must lie in [side, width − side] = [{side}, {width - side}], "
                         f"got {distance}")


def distant_patches(height: int, width: int, side: int, distance: int,
                    generator: torch.Generator) -> tuple[Patch, Patch]:
    """Two uniformly random ``side``×``side`` patches whose left columns are at least ``distance``
    (≥ ``side``, so they never overlap) apart."""
    _check_distance(width, side, distance)
    while True:
        first, second = torch.randint(0, width - side + 1, (2,), generator=generator).tolist()
        if abs(first - second) >= distance:
            rows = torch.randint(0, height - side + 1, (2,), generator=generator).tolist()
            return (rows[0], first, side), (rows[1], second, side)


def digit_slots(width: int, generator: torch.Generator) -> tuple[Patch, Patch]:
    """The two digit slots of a ``same_class_canvas`` of ``width`` columns (8×8 at either end), in
    random order: the first is the patch whose input gradient the regularizer watches, the second
    the one it replaces — the pair the authors' is-same-class runs regularize."""
    left, right = (0, 0, DIGIT), (0, positive_int(width, "width", minimum=2 * DIGIT) - DIGIT, DIGIT)
    return (left, right) if torch.randint(0, 2, (1,), generator=generator).item() == 0 else (right, left)


def _cut(images: torch.Tensor, patch: Patch) -> torch.Tensor:
    row, col, side = patch
    return images[..., row:row + side, col:col + side]


def gradient_change_penalty(model: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor,
                            first: Patch, second: Patch) -> tuple[torch.Tensor, torch.Tensor]:
    """The regularizer of Razin, Maman, Cohen (arXiv 2201.11729) that counters the bias
    towards locality. With f_y the logit of each sample's true class and x' the sample with its
    ``second`` patch replaced by the next sample's (a cyclic shift of the batch),

        penalty = mean over the batch of |cos(∇_P f_y(x), ∇_P f_y(x'))|,   P = ``first`` patch,

    which is 1 exactly when changing the second patch does not turn the gradient on the first,
    i.e. when f does not couple the two locations. Both gradients come from one forward pass on
    the stacked batch (2B samples) kept in the graph, so the penalty is differentiable in the
    weights. Returns (penalty, logits of the unmodified batch (B, 2))."""
    swapped = images.clone()
    _cut(swapped, second).copy_(_cut(images.roll(1, 0), second))
    stacked = torch.cat([images, swapped]).requires_grad_(True)
    logits = model(stacked)
    true_class = logits.gather(1, labels.repeat(2)[:, None]).sum()
    (gradient,) = torch.autograd.grad(true_class, stacked, create_graph=True)
    on_first = _cut(gradient, first).flatten(1)
    half = len(images)
    cosine = torch.nn.functional.cosine_similarity(on_first[:half], on_first[half:], dim=1, eps=1e-12)
    return cosine.abs().mean(), logits[:half]


@dataclass(frozen=True)
class SameClassRun:
    """Outcome of ``train_same_class``: accuracies on the training and test canvases, the training
    loss every 100 steps, and ``coupling`` — the penalty's mean |cos| on the test canvases over
    ``probes`` patch pairs drawn as in training (1 = no interaction between the two locations), on
    the first ``COUPLING_SAMPLES`` test canvases."""

    train_accuracy: float
    test_accuracy: float
    loss: NDArray[np.float64]
    coupling: float


def train_same_class(width: int, penalty: float, seed: int, samples: int = 2000, test_samples: int = 2000,
                     steps: int = 1500, channels: int = 16, noise: float = 0.2, lr: float = 2e-3,
                     batch: int = 128, regions: str = "digits", patch: int = 4, distance: int = 10,
                     probes: int = 8, warmup: int = 0) -> SameClassRun:
    """Train ``locality_cnn`` with Adam on cross-entropy (+ ``penalty`` × the gradient-change
    regularizer) over mini-batches of ``same_class_canvas``; everything (data, initialization,
    batches, patches) follows ``seed``. The regularizer's patch pair, drawn afresh each step:
    ``regions="digits"`` the two digit slots (``digit_slots``, as in the authors' is-same-class
    runs), ``"random"`` two ``patch``×``patch`` patches ≥ ``distance`` columns apart
    (``distant_patches``, as in their Pathfinder runs). The penalty is off for the first ``warmup``
    steps. Batches and patch pairs come from separate generators, so runs with and without the
    penalty see the same batches."""
    penalty = nonnegative_float(penalty, "penalty")
    if regions not in ("digits", "random"):
        raise ValueError(f"regions must be 'digits' or 'random', got {regions!r}")
    steps, batch = positive_int(steps, "steps"), positive_int(batch, "batch", minimum=2)
    warmup = positive_int(warmup, "warmup", minimum=0)
    images, labels = same_class_canvas(samples, width, noise, "train", seed)
    test_images, test_labels = same_class_canvas(test_samples, width, noise, "test", seed + 1)
    if regions == "random":
        _check_distance(width, patch, distance)  # before any training
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = locality_cnn(width, channels)
    batches, pairs = torch.Generator().manual_seed(seed), torch.Generator().manual_seed(seed + 2)
    optimizer = torch.optim.Adam(model.parameters(), lr=nonnegative_float(lr, "lr", positive=True))
    losses = []
    for step in range(steps):
        chosen = torch.randint(0, samples, (batch,), generator=batches)
        x, y = images[chosen], labels[chosen]
        if penalty > 0 and step >= warmup:
            first, second = _patch_pair(regions, width, patch, distance, pairs)
            regularizer, logits = gradient_change_penalty(model, x, y, first, second)
            loss = torch.nn.functional.cross_entropy(logits, y) + penalty * regularizer
        else:
            loss = torch.nn.functional.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step % 100 == 0:
            losses.append(loss.item())
    return SameClassRun(_accuracy(model, images, labels), _accuracy(model, test_images, test_labels),
                        np.array(losses), _coupling(model, test_images[:COUPLING_SAMPLES],
                                                    test_labels[:COUPLING_SAMPLES],
                                                    lambda g: _patch_pair(regions, width, patch, distance, g),
                                                    probes, seed))


def _accuracy(model: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
    with torch.no_grad():
        return float((model(images).argmax(1) == labels).double().mean())


def _patch_pair(regions: str, width: int, patch: int, distance: int,
                generator: torch.Generator) -> tuple[Patch, Patch]:
    if regions == "digits":
        return digit_slots(width, generator)
    return distant_patches(DIGIT, width, patch, distance, generator)


def _coupling(model, images, labels, pair, probes, seed) -> float:
    generator = torch.Generator().manual_seed(seed + 1)
    values = [gradient_change_penalty(model, images, labels, *pair(generator))[0].item()
              for _ in range(probes)]
    return float(np.mean(values))
