"""Hierarchical tensor factorization over a binary tree of modes, by gradient descent and flow.

Source: Razin, Maman, Cohen, "Implicit regularization in hierarchical tensor factorization and
deep convolutional neural networks", ICML 2022, arXiv 2201.11729. The local components of every
tree node, their norms and alignments, and the hierarchical ranks (the spectra of the
matricizations the tree's nodes define) along the trajectory.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from numpy.typing import ArrayLike, NDArray

from rankcheck.errors import NotConvergedError
from rankcheck.numerics.tensor._common import _check, _matricization_spectrum, _probe_sizes, _record_interval
from rankcheck.numerics.threads import torch_threads
from rankcheck.validation import as_finite, as_seed, nonnegative_float, positive_int

__all__ = [
    "HTFTrajectory", "tree_nodes", "htf_tensor", "local_contributions", "htf_completion", "htf_flow",
    "tree_spectra"
]

@dataclass(frozen=True)
class HTFTrajectory:
    """The trajectory of a hierarchical factorization (``htf_completion``, ``htf_flow``): n records.

    Internal nodes are ordered level by level from the bottom, the root last; R is the width.

    Attributes
    ----------
    times : ndarray, shape (n,)
    loss : ndarray, shape (n,)
    local_norms : ndarray, shape (n, nodes, R)
        For each internal node the norms of its R local components,
        ‖child₁ column r‖·‖child₂ column r‖·‖row r of the node‖.
    spectra : ndarray, shape (n, len(tree_nodes), k)
        Singular values of the matricization of the tensor with the modes of each non-root tree node
        as rows (``tree_nodes``; padded with 0 to k); their counts above a threshold are the
        hierarchical ranks.
    leaves : list of ndarray, shapes (d_n, R)
        The final leaf matrices.
    nodes : list of ndarray, shapes (R, R)
        The final internal non-root node matrices.
    root : ndarray, shape (R,)
    alignments : ndarray, shape (n, nodes, R)
        g = ⟨−∇ℓ(W), C⟩/σ for each local component, C its contribution to the tensor
        (``local_contributions``) and σ its norm, computed as −⟨z, ∇_z ℓ⟩/σ with z the component's
        row of the node's matrix.
    probes : ndarray, shape (n, P, nodes, R)
        The local norms after a trial GD step of each size in ``probe_steps`` (``htf_completion``
        only; P = 0 without probes).
    """

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
    """The mode sets of the non-root nodes of the perfect binary tree over 2^L modes, leaves first.

    Parameters
    ----------
    order : int
        N = 2^L >= 2.

    Returns
    -------
    list of list of int
        [[0], [1], …, [0, 1], [2, 3], …, [0, …, N/2 − 1], [N/2, …, N − 1]].

    Raises
    ------
    ValueError
        When ``order`` is not a power of 2 (>= 2).
    """
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

    A node with children φ_a (D_a, R), φ_b (D_b, R) and matrix M gives φ (D_a·D_b, R) with
    φ[(i, j), s] = Σ_r φ_a[i, r]·φ_b[j, r]·M[r, s]; the root gives
    W[(i, j)] = Σ_r φ_a[i, r]·φ_b[j, r]·root[r], reshaped to (d_1, …, d_N).

    Parameters
    ----------
    leaves : list of tensor, N matrices of shape (d_n, R)
    nodes : list of tensor, N/2 + N/4 + … + 2 matrices of shape (R, R)
        The internal non-root nodes level by level from the bottom.
    root : tensor, shape (R,)

    Returns
    -------
    torch.Tensor, shape (d_1, …, d_N)
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
    """C_{ν,r}: the tensor of the factorization with only the r-th term kept at node ν.

    Row r of the node's matrix (entry r of the root) is kept, the others zeroed. The tensor is linear
    in that term's scale, W(ε) = W + ε·C_{ν,r} when the r-th local component is scaled by 1 + ε, and
    Σ_r C_{ν,r} = W at every node ν.

    Parameters
    ----------
    leaves, nodes, root
        As ``htf_tensor``.

    Returns
    -------
    torch.Tensor, shape (internal nodes, R, d_1, …, d_N)
        Internal nodes level by level from the bottom, the root last (as
        ``HTFTrajectory.local_norms``).
    """
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
    generator = torch.Generator().manual_seed(as_seed(seed))
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
                   record_every: int | None = None, probe_steps: tuple[float, ...] = (),
                   threads: int | None = 1) -> HTFTrajectory:
    """Gradient descent on ℓ(W) = ½Σ_observed (W[i] − y_i)² over a hierarchical factorization.

    Source: Razin, Maman, Cohen 2022, arXiv 2201.11729. Width R at every node (``htf_tensor``),
    from a balanced start (every local component with norm ``init_scale``). Records every
    ``record_every`` steps and the last (time = steps × lr).

    Parameters
    ----------
    observed_values : array_like, shape (k,)
        The observed entries y_i.
    observed_indices : array_like of int, shape (k, N)
        Their positions inside ``shape``.
    shape : tuple of int, length N = 2^L >= 2
        (d_1, …, d_N).
    rank : int
        R >= 1, the width of every node.
    init_scale : float
        Norm of every local component at initialization, > 0.
    steps : int
    lr : float
        Step size, > 0.
    seed : int, default 0
    record_every : int or None, default None
        None: every max(30, steps // 100) steps (about 100 records; a record, with one
        matricization spectrum per tree node, costs about 3 steps, so recording adds about 10 % to
        the run).
    probe_steps : tuple of float, default ()
        At each record, also the local norms after trial steps θ − s·∇ℓ(θ) (s = lr is the step GD
        takes).
    threads : int or None, default 1
        torch threads for the run (``numerics.threads.torch_threads``); None keeps torch's setting.

    Returns
    -------
    HTFTrajectory

    Raises
    ------
    ValueError
        Naming the argument: bad observations (as ``cp_completion``), an order that is not a power
        of 2, non-positive ``init_scale``, ``lr`` or probe steps, ``steps``, ``record_every`` or
        ``threads`` < 1.
    NotConvergedError
        When the loss becomes non-finite (the step diverged).
    """
    problem = _HTFProblem(observed_values, observed_indices, shape, rank)
    steps, lr = positive_int(steps, "steps"), nonnegative_float(lr, "lr", positive=True)
    every = _record_interval(record_every, steps, gap=30)  # a record: ~3 steps (one SVD per tree node)
    probe_steps = _probe_sizes(probe_steps)
    with torch_threads(threads):
        return _htf_descent(problem, init_scale, steps, lr, seed, every, probe_steps)


def _htf_descent(problem: _HTFProblem, init_scale: float, steps: int, lr: float, seed: int, every: int,
                 probe_steps: tuple[float, ...]) -> HTFTrajectory:
    """``htf_completion`` on validated arguments."""
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
    """Gradient flow dθ/dt = −∇ℓ(θ) of the same factorization and loss as ``htf_completion``.

    Integrated by scipy's BDF (implicit, relative tolerance ``rtol``, absolute rtol·1e-3) with the
    exact Hessian from ``torch.func`` as Jacobian, until ℓ <= ``stop_ratio``·½‖y‖² (the loss of the
    zero tensor). Why implicit: small initializations sit on a plateau of length ∝
    init_scale^{−5/3} (order 4: seven factors of scale init_scale^{1/3}, each moving at a rate ∝ its
    scale⁶); once a component is learned the flow is stiff (curvature ~10 along it) while the next
    one escapes its saddle over thousands of time units, so explicit steps (GD, RK45) need 10⁴–10⁵
    steps where BDF needs a few hundred. Records every ``record_every`` accepted steps and the last.

    Parameters
    ----------
    observed_values : array_like, shape (k,)
        The observed entries y_i.
    observed_indices : array_like of int, shape (k, N)
        Their positions inside ``shape``.
    shape : tuple of int, length N = 2^L >= 2
        (d_1, …, d_N).
    rank : int
        R >= 1.
    init_scale : float
        > 0.
    seed : int, default 0
    max_time : float, default 1e8
    rtol : float, default 1e-4
    stop_ratio : float, default 1e-6
    record_every : int, default 1
    max_evaluations : int, default 50 000
        A deterministic budget of gradient evaluations (about 5 minutes on one core; typical runs
        need ~10³; on some draws the flow creeps after its escape, stiff and slow at once, and BDF
        would need hours).

    Returns
    -------
    HTFTrajectory
        With ``probes`` of shape (n, 0, nodes, R).

    Raises
    ------
    ValueError
        Naming the argument, as ``htf_completion``, or a non-positive ``max_time``, ``rtol``,
        ``stop_ratio``, ``max_evaluations``.
    NotConvergedError
        When ``max_time`` passes before the stopping loss, or the gradient was evaluated
        ``max_evaluations`` times.
    """
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
    """Singular values of the matricizations a binary tree of modes defines (the hierarchical ranks).

    Parameters
    ----------
    tensor : array_like, order N = 2^L

    Returns
    -------
    ndarray, shape (len(tree_nodes(N)), k)
        For each non-root tree node, the singular values of the matricization with its modes as
        rows, descending, padded with 0 to the longest k; their counts above a threshold are the
        hierarchical ranks.

    Raises
    ------
    ValueError
        When the order is not a power of 2.
    """
    array = as_finite(tensor, "tensor")
    spectra = [_matricization_spectrum(array, g) for g in tree_nodes(array.ndim)]
    width = max(len(sv) for sv in spectra)
    return np.array([np.pad(sv, (0, width - len(sv))) for sv in spectra])
