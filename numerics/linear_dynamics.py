"""Training dynamics of linear networks: ODE reference solvers and torch gradient descent.

* ``balanced_mode_flow`` / ``mode_crossing_time``: the balanced singular-value ODE
  da/dt = L·a^{2−2/L}(y − a), integrated by scipy in x = log a (the plateau at tiny a is then a
  slow, non-stiff drift) with event detection for the crossing a = level·y.
* ``parameter_flow``: the gradient flow of ½‖W_L⋯W_1 − A*‖_F² in parameter space (all weights),
  integrated by scipy — the reference the GD trainings and the mode ODE are compared with.
* ``mixed_flow``: the self-consistent formula of the mixed-dynamics paper for A = W₂W₁,
  dA/dt = −[(AAᵀ + c²I)^{1/2}G + G(AᵀA + c²I)^{1/2}], c = σ²w (Tu, Aranguri, Jacot, 2405.17580).
* ``gradient_descent``: full-batch torch GD on ½‖M ⊙ (W_L⋯W_1 − A*)‖² (M a 0/1 observation mask,
  all ones by default), recording the product at requested times; the training the flows are
  checked against.
* ``train_saddle_to_saddle``: full-batch GD in torch on ½‖W_L⋯W_1 − diag(y)‖_F² from an aligned
  balanced start (W_ℓ = εI) or a Gaussian start of scale σ, recording the singular values of the
  product and the time (steps × lr) at which each one first reaches half its target.

Sources: Jacot et al., arXiv 2106.15933 (saddle-to-saddle); Tu, Aranguri, Jacot, arXiv 2405.17580.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from numpy.typing import ArrayLike, NDArray
from scipy.integrate import solve_ivp

from rankcheck.errors import NotConvergedError
from rankcheck.numerics.dln import chain_product, product_gradients, unpack_weights
from rankcheck.validation import as_array, as_matrix, as_seed, as_vector, nonnegative_float, positive_int

__all__ = [
    "balanced_mode_flow", "mode_crossing_time", "psd_sqrt", "observation_mask", "Flow",
    "parameter_flow", "gradient_descent", "mixed_flow", "Trajectory", "train_saddle_to_saddle",
    "SGDRuns", "sgd_runs", "rank_transitions", "MAX_STEPS"
]


def _log_mode_velocity(depth: int, target: float):
    def velocity(_: float, state: NDArray[np.float64]) -> NDArray[np.float64]:
        value = np.exp(state[0])
        return np.array([depth * value ** (1.0 - 2.0 / depth) * (target - value)])

    return velocity


def _check_mode(s0: float, target: float, depth: int) -> tuple[float, float, int]:
    depth = positive_int(depth, "depth")
    s0 = nonnegative_float(s0, "s0", positive=True)
    target = nonnegative_float(target, "y", positive=True)
    if s0 >= target:
        raise ValueError(f"s0 must be below the target y, got s0={s0}, y={target}")
    return s0, target, depth


def _increasing_times(t_eval: ArrayLike) -> NDArray[np.float64]:
    times = as_vector(t_eval, "t_eval", nonnegative=True)
    if np.any(np.diff(times) < 0):
        raise ValueError("t_eval must be increasing")
    return times


def balanced_mode_flow(s0: float, y: float, depth: int, t_eval: ArrayLike) -> NDArray[np.float64]:
    """a(t) of one balanced mode, da/dt = L·a^{2−2/L}(y − a), at given times.

    Integrated by DOP853 in x = log a with rtol 1e-11, atol 1e-12.

    Parameters
    ----------
    s0 : float
        a(0), 0 < s0 < y.
    y : float
        The target singular value, > 0.
    depth : int
        L >= 1.
    t_eval : array_like, shape (n,)
        Increasing times >= 0.

    Returns
    -------
    ndarray, shape (n,)

    Raises
    ------
    ValueError
        Naming the argument: non-positive ``s0`` or ``y``, ``s0`` >= ``y``, ``depth`` < 1, times not
        increasing.
    NotConvergedError
        When the integrator fails.
    """
    s0, y, depth = _check_mode(s0, y, depth)
    times = _increasing_times(t_eval)
    solution = solve_ivp(_log_mode_velocity(depth, y), (0.0, float(times[-1])), [np.log(s0)],
                         method="DOP853", t_eval=times, rtol=1e-11, atol=1e-12)
    if not solution.success:
        raise NotConvergedError(f"balanced_mode_flow: {solution.message}")
    return np.exp(solution.y[0])


def mode_crossing_time(s0: float, y: float, depth: int, level: float = 0.5,
                       t_max: float = 1e12) -> float:
    """First t with a(t) = level·y for da/dt = L·a^{2−2/L}(y − a), a(0) = s0 < level·y.

    Event detection on the DOP853 integration in x = log a (rtol 1e-11, atol 1e-12); an independent
    route to ``rankcheck.theory.linear_dynamics.escape_time``.

    Parameters
    ----------
    s0 : float
        > 0.
    y : float
        > 0.
    depth : int
        L >= 1.
    level : float, default 0.5
        In (s0/y, 1).
    t_max : float, default 1e12

    Returns
    -------
    float

    Raises
    ------
    ValueError
        Naming the argument, or a ``level`` outside (s0/y, 1).
    NotConvergedError
        When the level is not reached before ``t_max``.
    """
    s0, y, depth = _check_mode(s0, y, depth)
    if not 0 < level < 1 or s0 >= level * y:
        raise ValueError(f"level must lie in (s0/y, 1), got {level}")

    def reached(_: float, state: NDArray[np.float64]) -> float:
        return state[0] - np.log(level * y)

    reached.terminal = True  # type: ignore[attr-defined]
    solution = solve_ivp(_log_mode_velocity(depth, y), (0.0, t_max), [np.log(s0)], method="DOP853",
                         events=reached, rtol=1e-11, atol=1e-12)
    if not solution.t_events[0].size:
        raise NotConvergedError(f"mode_crossing_time: level not reached before t = {t_max:g}")
    return float(solution.t_events[0][0])


def psd_sqrt(matrix: NDArray[np.float64]) -> NDArray[np.float64]:
    """Square root of a symmetric positive semi-definite matrix, by ``eigh``.

    Eigenvalues below 0 (round-off) are clipped to 0.

    Parameters
    ----------
    matrix : ndarray, shape (k, k)

    Returns
    -------
    ndarray, shape (k, k)
    """
    values, vectors = np.linalg.eigh(matrix)
    return (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T


def observation_mask(mask: ArrayLike | None, shape: tuple[int, int]) -> NDArray[np.float64]:
    """A 0/1 observation mask of the given shape (all ones for None).

    Parameters
    ----------
    mask : array_like of {0, 1}, shape ``shape``, or None
    shape : (int, int)

    Returns
    -------
    ndarray of float64, shape ``shape``

    Raises
    ------
    ValueError
        When ``mask`` is of another shape, has entries other than 0 and 1, or observes nothing.
    """
    if mask is None:
        return np.ones(shape)
    array = as_matrix(mask, "mask")
    if array.shape != shape:
        raise ValueError(f"mask must have the target's shape {shape}, got {array.shape}")
    if not np.all((array == 0) | (array == 1)):
        raise ValueError("mask must contain only 0 and 1")
    if not array.any():
        raise ValueError("mask must observe at least one entry, got an empty mask")
    return array


def _check_chain(weights0: list[ArrayLike], target: ArrayLike, name: str = "weights0"):
    if not isinstance(weights0, (list, tuple)) or not weights0:
        raise ValueError(f"{name} must be a non-empty list of weight matrices, first layer first")
    weights = [as_matrix(w, f"{name}[{k}]") for k, w in enumerate(weights0)]
    goal = as_matrix(target, "target")
    for k in range(1, len(weights)):
        if weights[k].shape[1] != weights[k - 1].shape[0]:
            raise ValueError(f"{name}[{k}] has {weights[k].shape[1]} columns, expected "
                             f"{weights[k - 1].shape[0]} (the rows of {name}[{k - 1}])")
    if (weights[-1].shape[0], weights[0].shape[1]) != goal.shape:
        raise ValueError(f"target must have shape {(weights[-1].shape[0], weights[0].shape[1])}, "
                         f"got {goal.shape}")
    return weights, goal


@dataclass(frozen=True)
class Flow:
    """Solution of ``parameter_flow`` or ``gradient_descent``.

    Attributes
    ----------
    times : ndarray, shape (n,)
    products : ndarray, shape (n, m, d)
        W_L⋯W_1 at each time.
    losses : ndarray, shape (n,)
        ½‖M ⊙ (W_L⋯W_1 − A*)‖² at each time.
    weights : list of ndarray
        The final weights, first layer first.
    evaluations : int
        Gradient evaluations.
    """

    times: NDArray[np.float64]
    products: NDArray[np.float64]
    losses: NDArray[np.float64]
    weights: list[NDArray[np.float64]]
    evaluations: int


def _losses(products: NDArray[np.float64], goal: NDArray[np.float64],
            mask: NDArray[np.float64]) -> NDArray[np.float64]:
    return 0.5 * np.sum((mask * (products - goal)) ** 2, axis=(1, 2))


def parameter_flow(weights0: list[ArrayLike], target: ArrayLike, t_eval: ArrayLike, *,
                   mask: ArrayLike | None = None, method: str = "DOP853", rtol: float = 1e-9,
                   atol: float = 1e-12) -> Flow:
    """Gradient flow dW_ℓ/dt = −∂/∂W_ℓ ½‖M ⊙ (W_L⋯W_1 − A*)‖_F² of all weights of a linear network.

    The gradient is (W_L⋯W_{ℓ+1})ᵀ M⊙(W_L⋯W_1 − A*) (W_{ℓ−1}⋯W_1)ᵀ (``rankcheck.numerics.dln.
    product_gradients``). DOP853 by default: on a 20×20 depth-4 flow it needed 10k gradient
    evaluations where LSODA, switching to BDF with a finite-difference Jacobian of all weights,
    needed 134k (18× slower).

    Parameters
    ----------
    weights0 : list of array_like
        The initial weights [W_1, …, W_L], first layer first, with compatible shapes.
    target : array_like, shape (m, d)
        A*.
    t_eval : array_like, shape (n,)
        Increasing times >= 0.
    mask : array_like of {0, 1}, shape (m, d), optional
        Observed entries M (default all).
    method : str, default "DOP853"
        A ``scipy.integrate.solve_ivp`` method.
    rtol, atol : float

    Returns
    -------
    Flow

    Raises
    ------
    ValueError
        Naming the argument: incompatible or non-finite weights, a bad target, mask or times.
    NotConvergedError
        When the integrator fails.
    """
    weights, goal = _check_chain(weights0, target)
    observed = observation_mask(mask, goal.shape)
    times = _increasing_times(t_eval)
    shapes = [w.shape for w in weights]

    def velocity(_: float, theta: NDArray[np.float64]) -> NDArray[np.float64]:
        current = unpack_weights(theta, shapes)
        grads = product_gradients(current, observed * (chain_product(current) - goal))
        return -np.concatenate([g.ravel() for g in grads])

    start = np.concatenate([w.ravel() for w in weights])
    solution = solve_ivp(velocity, (0.0, float(times[-1])), start, method=method, t_eval=times,
                         rtol=rtol, atol=atol)
    if not solution.success:
        raise NotConvergedError(f"parameter_flow: {solution.message}")
    products = np.array([chain_product(unpack_weights(column, shapes)) for column in solution.y.T])
    return Flow(solution.t, products, _losses(products, goal, observed),
                unpack_weights(solution.y[:, -1], shapes), int(solution.nfev))


MAX_STEPS = 10**7  # default budget of the GD trainers: steps = horizon / lr


def gradient_descent(weights0: list[ArrayLike], target: ArrayLike, lr: float, t_eval: ArrayLike, *,
                     mask: ArrayLike | None = None, max_steps: int = MAX_STEPS) -> Flow:
    """Full-batch torch GD (float64) on ½‖M ⊙ (W_L⋯W_1 − A*)‖², time = steps × lr.

    The discrete counterpart of ``parameter_flow``: a mode of rate r moves by a factor 1 + lr·r per
    step where the flow gives e^{lr·r}. The product is recorded at the steps nearest to ``t_eval``.

    Parameters
    ----------
    weights0 : list of array_like
        The initial weights [W_1, …, W_L], first layer first, with compatible shapes.
    target : array_like, shape (m, d)
        A*.
    lr : float
        > 0.
    t_eval : array_like, shape (n,)
        Increasing times >= 0 (their nearest steps' times are returned).
    mask : array_like of {0, 1}, shape (m, d), optional
    max_steps : int, default MAX_STEPS (10⁷)
        A horizon t_eval[-1]/lr above it is refused up front (a tiny ``lr`` would run for hours).

    Returns
    -------
    Flow

    Raises
    ------
    ValueError
        Naming the argument: incompatible or non-finite weights, a bad target, mask or times, a
        non-positive ``lr``, more than ``max_steps`` steps.
    NotConvergedError
        At the step where the loss becomes non-finite (a step size too large).
    """
    start, goal = _check_chain(weights0, target)
    observed = torch.as_tensor(observation_mask(mask, goal.shape))
    lr = nonnegative_float(lr, "lr", positive=True)
    times = _increasing_times(t_eval)
    if times[-1] / lr > positive_int(max_steps, "max_steps"):  # refused up front: every step runs
        raise ValueError(f"lr: gradient_descent would take {times[-1] / lr:.3g} steps (horizon "
                         f"{times[-1]:g} / lr {lr:g}), over max_steps={max_steps}; raise lr or max_steps")
    steps = np.rint(times / lr).astype(int)
    weights = [torch.nn.Parameter(torch.tensor(w)) for w in start]  # copies
    goal_t = torch.as_tensor(goal)
    optimizer = torch.optim.SGD(weights, lr=lr)
    products = []
    for step in range(int(steps[-1]) + 1):
        optimizer.zero_grad()
        product = chain_product(weights)
        loss = 0.5 * torch.sum((observed * (product - goal_t)) ** 2)
        if not torch.isfinite(loss):
            raise NotConvergedError(f"gradient_descent diverged at step {step} (loss {loss.item():.3g}): "
                                    f"lr = {lr:.3g} is above the stability limit; lower it")
        products.extend([product.detach().numpy().copy()] * int(np.sum(steps == step)))
        if step == steps[-1]:
            break
        loss.backward()
        optimizer.step()
    array = np.asarray(products)
    return Flow(steps * lr, array, _losses(array, goal, observed.numpy()),
                [w.detach().numpy().copy() for w in weights], int(steps[-1]))


def _kernel_eigen(A: NDArray, c: float, kernel) -> tuple[tuple, tuple]:
    """Eigen-decompositions (P, λ, λ_rest) of K_L = K(AAᵀ, c) and K_R = K(AᵀA, c): K = λ_rest·I +
    P diag(λ − λ_rest) Pᵀ. The default K = (S + c²I)^{1/2} comes from one thin SVD A = U s Vᵀ
    (K_L = cI + U diag(√(s² + c²) − c) Uᵀ, and K_R likewise with V); another ``kernel`` from eigh of
    its two matrices (λ_rest = 0, P square)."""
    if kernel is None:
        U, singular, Vt = np.linalg.svd(A, full_matrices=False)
        values = np.sqrt(singular**2 + c**2)
        return (U, values, c), (Vt.T, values, c)
    left, left_vectors = np.linalg.eigh(kernel(A @ A.T, c))
    right, right_vectors = np.linalg.eigh(kernel(A.T @ A, c))
    return (left_vectors, left, 0.0), (right_vectors, right, 0.0)


def _frozen_kernel_step(G: NDArray, factors: tuple[tuple, tuple], h: float) -> NDArray:
    """G(h) of dG/dt = −(K_L G + G K_R) with both kernels frozen: e^{−K_L h} G e^{−K_R h}."""
    (P, lam, rest), (Q, mu, rest_right) = factors
    left = np.exp(-rest * h) * G + (P * (np.exp(-lam * h) - np.exp(-rest * h))) @ (P.T @ G)
    return np.exp(-rest_right * h) * left \
        + ((left @ Q) * (np.exp(-mu * h) - np.exp(-rest_right * h))) @ Q.T


def _exponential_midpoint(start: NDArray, goal: NDArray, c: float, times: NDArray, kernel,
                          max_step: float) -> NDArray:
    """A at ``times`` by exponential midpoint steps of at most ``max_step`` (``mixed_flow``)."""
    A, now, path = start.copy(), 0.0, []
    for time in times:
        count = int(np.ceil((time - now) / max_step - 1e-12)) if time > now else 0
        for _ in range(count):
            h = (time - now) / count
            G = A - goal
            half = goal + _frozen_kernel_step(G, _kernel_eigen(A, c, kernel), h / 2)
            A = goal + _frozen_kernel_step(G, _kernel_eigen(half, c, kernel), h)
        now = max(now, time)
        path.append(A.copy())
    return np.array(path)


def mixed_flow(A0: ArrayLike, target: ArrayLike, sigma2_w: float, t_eval: ArrayLike, *,
               kernel=None, rtol: float = 1e-9, atol: float = 1e-12, method: str = "DOP853",
               max_step: float | None = None) -> NDArray[np.float64]:
    """The self-consistent mixed (lazy/balanced) dynamics of a shallow linear network.

        dA/dt = −[K(AAᵀ, c) G + G K(AᵀA, c)],  G = A − A*,  K(S, c) = (S + c²I)^{1/2},  c = σ²w,

    with A0 = W₂W₁ at initialization.

    Two integrators. "DOP853" (default): adaptive to ``rtol``/``atol``, the square roots by
    ``psd_sqrt``. "exponential": midpoint steps of at most ``max_step`` that solve the stiff part
    exactly — over a step the kernels are frozen at the midpoint and G(t + h) = e^{−K_L h} G e^{−K_R h}
    (one SVD of A per kernel evaluation, two per step; error O(h²) in the kernels' change, stable at
    any step). The stiffness (rates up to 2√(s₁² + c²)) holds explicit schemes to steps below
    1/s₁; the exponential one is not held (notes/linear_dynamics.md: ten times faster than the
    notebook's forward-Euler loop at ten times its accuracy).

    Parameters
    ----------
    A0 : array_like, shape (m, d)
    target : array_like, shape (m, d)
        A*.
    sigma2_w : float
        c = σ²w >= 0.
    t_eval : array_like, shape (n,)
        Increasing times >= 0.
    kernel : callable (gram, c) -> ndarray, optional
        Replaces K (to test other closures); symmetric PSD.
    rtol, atol : float
        DOP853's tolerances.
    method : {"DOP853", "exponential"}, default "DOP853"
    max_step : float, optional
        The exponential method's largest step (default: a sixteenth of the last time).

    Returns
    -------
    ndarray, shape (n, m, d)
        A(t) at ``t_eval``.

    Raises
    ------
    ValueError
        Naming the argument: shapes that differ, non-finite entries, a negative ``sigma2_w``, an
        unknown ``method``, a non-positive ``max_step``.
    NotConvergedError
        When the integrator fails.
    """
    start = as_matrix(A0, "A0")
    goal = as_matrix(target, "target")
    if start.shape != goal.shape:
        raise ValueError(f"A0 and target must have the same shape, got {start.shape} and {goal.shape}")
    threshold = nonnegative_float(sigma2_w, "sigma2_w")
    times = _increasing_times(t_eval)
    if method not in ("DOP853", "exponential"):
        raise ValueError(f"method must be 'DOP853' or 'exponential', got {method!r}")
    if method == "exponential":
        step = times[-1] / 16 if max_step is None else nonnegative_float(max_step, "max_step",
                                                                           positive=True)
        return _exponential_midpoint(start, goal, threshold, times, kernel, step or 1.0)
    rows, cols = goal.shape
    closure = kernel or (lambda gram, c: psd_sqrt(gram + c**2 * np.eye(gram.shape[0])))

    def velocity(_: float, state: NDArray[np.float64]) -> NDArray[np.float64]:
        A = state.reshape(rows, cols)
        G = A - goal
        return -(closure(A @ A.T, threshold) @ G + G @ closure(A.T @ A, threshold)).ravel()

    solution = solve_ivp(velocity, (0.0, float(times[-1])), start.ravel(), method="DOP853",
                         t_eval=times, rtol=rtol, atol=atol)
    if not solution.success:
        raise NotConvergedError(f"mixed_flow: {solution.message}")
    return solution.y.T.reshape(-1, rows, cols)


@dataclass(frozen=True)
class Trajectory:
    """A gradient-descent run of ``train_saddle_to_saddle``.

    Attributes
    ----------
    times : ndarray, shape (n,)
    singular_values : ndarray, shape (n, k)
        Of the product, descending.
    crossing_times : ndarray, shape (k,)
        The first time each singular value reached half of the matching target value (NaN if never
        within ``max_time``).
    targets : ndarray, shape (k,)
        Sorted descending.
    """

    times: NDArray[np.float64]
    singular_values: NDArray[np.float64]
    crossing_times: NDArray[np.float64]
    targets: NDArray[np.float64]


def train_saddle_to_saddle(
    target_singular_values: ArrayLike,
    depth: int,
    init_scale: float,
    *,
    lr: float,
    max_time: float,
    aligned: bool = True,
    seed: int = 0,
    stop_after: int | None = None,
    max_steps: int = MAX_STEPS,
) -> Trajectory:
    """Full-batch GD on ½‖W_L⋯W_1 − diag(y)‖_F² with square k×k weights, time = steps × lr.

    Crossing times interpolate linearly between steps. Stops at ``max_time`` or once the first
    ``stop_after`` modes (default: all) have crossed.

    Parameters
    ----------
    target_singular_values : array_like, shape (k,)
        y >= 0.
    depth : int
        L >= 1.
    init_scale : float
        > 0.
    lr : float
        > 0.
    max_time : float
        > 0.
    aligned : bool, default True
        True: W_ℓ = init_scale·I (every mode follows the balanced ODE exactly, up to the time
        discretization). False: W_ℓ = init_scale·G_ℓ with G_ℓ i.i.d. N(0, 1/k) drawn from ``seed``
        (the same G for every scale, so runs differ by the scale alone).
    seed : int, default 0
    stop_after : int, optional
    max_steps : int, default MAX_STEPS (10⁷)
        The most steps taken: ``max_time`` is a cap and a run usually stops at its crossings, so
        the budget is checked as the run goes (about 5 minutes of 3×3 steps at depth 4).

    Returns
    -------
    Trajectory

    Raises
    ------
    ValueError
        Naming the argument.
    NotConvergedError
        When ``max_steps`` steps pass before the wanted crossings and ``max_time`` (an ``lr`` too
        small for the horizon), or the loss becomes non-finite.
    """
    targets = np.sort(as_vector(target_singular_values, "target_singular_values",
                                nonnegative=True))[::-1].copy()
    depth = positive_int(depth, "depth")
    init_scale = nonnegative_float(init_scale, "init_scale", positive=True)
    lr = nonnegative_float(lr, "lr", positive=True)
    max_time = nonnegative_float(max_time, "max_time", positive=True)
    max_steps = positive_int(max_steps, "max_steps")
    size = targets.size
    wanted = size if stop_after is None else positive_int(stop_after, "stop_after")
    generator = torch.Generator().manual_seed(as_seed(seed))
    if aligned:
        bases = [torch.eye(size, dtype=torch.float64) for _ in range(depth)]
    else:
        bases = [torch.randn(size, size, generator=generator, dtype=torch.float64) / np.sqrt(size)
                 for _ in range(depth)]
    weights = [torch.nn.Parameter(init_scale * base) for base in bases]
    goal = torch.diag(torch.as_tensor(targets))
    optimizer = torch.optim.SGD(weights, lr=lr)
    halves = targets / 2
    crossing = np.full(size, np.nan)
    times, values = [0.0], []
    previous = None
    steps = int(np.ceil(max_time / lr))
    for step in range(steps + 1):
        optimizer.zero_grad()
        product = chain_product(weights)  # (k, k)
        current = torch.linalg.svdvals(product.detach()).numpy()
        values.append(current)
        if previous is not None:
            times.append(step * lr)
            newly = np.isnan(crossing) & (current >= halves)
            for index in np.flatnonzero(newly):  # linear interpolation inside the step
                fraction = (halves[index] - previous[index]) / (current[index] - previous[index])
                crossing[index] = (step - 1 + fraction) * lr
        if np.all(~np.isnan(crossing[:wanted])) or step == steps:
            break
        if step == max_steps:
            raise NotConvergedError(f"train_saddle_to_saddle: {max_steps} steps (t = {step * lr:.3g} of "
                                    f"max_time {max_time:g}) before the crossings; raise lr or max_steps")
        previous = current
        loss = 0.5 * torch.sum((product - goal) ** 2)
        if not torch.isfinite(loss):
            raise NotConvergedError(f"train_saddle_to_saddle: the loss became {loss.item()} at step {step} "
                                    f"(lr={lr})")
        loss.backward()
        optimizer.step()
    return Trajectory(np.asarray(times), np.asarray(values), crossing, targets)


@dataclass(frozen=True)
class SGDRuns:
    """Outcome of ``sgd_runs``.

    Attributes
    ----------
    times : ndarray, shape (n,)
    singular_values : ndarray, shape (runs, n, k)
        Of each run's product, descending.
    max_gradient : ndarray, shape (runs,)
        The largest minibatch gradient ‖∂loss/∂A‖_F each run met.
    weights : list of ndarray
        Final weights, layer by layer, each of shape (runs, rows, cols).
    """

    times: NDArray[np.float64]
    singular_values: NDArray[np.float64]
    max_gradient: NDArray[np.float64]
    weights: list[NDArray[np.float64]]


def sgd_runs(
    target: ArrayLike,
    start: list[ArrayLike],
    lam: float,
    lr: float,
    steps: int,
    *,
    mask: ArrayLike | None = None,
    batch: int = 1,
    label_noise: float = 0.0,
    settle_steps: int = 0,
    settle_lr: float | None = None,
    runs: int = 1,
    seed: int = 0,
    record_every: int = 1,
) -> SGDRuns:
    """Independent SGD runs of an L2-regularized deep linear network on matrix completion.

    Each of the first ``steps`` steps draws, per run, ``batch`` observed entries (i, j) uniformly with
    replacement and labels A*_ij + ``label_noise``·ξ (ξ ~ N(0, 1)), and descends

        (n_obs / 2)·mean_batch (A_ij − label)² + λ‖θ‖²   (torch SGD, weight_decay = 2λ),

    whose expectation is ½‖M ⊙ (A − A*)‖² + λ‖θ‖² up to a constant. Then ``settle_steps`` steps of
    full-batch GD on that loss (noise annealed to 0) let each run settle in its minimum. All runs
    start from ``start`` and advance together as one batched tensor.

    Parameters
    ----------
    target : array_like, shape (m, d)
    start : list of array_like
        L weights, first layer first.
    lam : float
        λ >= 0.
    lr : float
        > 0.
    steps : int
    mask : array_like of {0, 1}, shape (m, d), optional
    batch : int, default 1
    label_noise : float, default 0
    settle_steps : int, default 0
    settle_lr : float, optional
        Default ``lr``.
    runs : int, default 1
    seed : int, default 0
    record_every : int, default 1
        ``times`` count steps × lr with the step size in force.

    Returns
    -------
    SGDRuns

    Raises
    ------
    ValueError
        Naming the argument.
    """
    weights0, goal = _check_chain(start, target, "start")
    observed = np.argwhere(observation_mask(mask, goal.shape) == 1)
    lam = nonnegative_float(lam, "lam")
    lr = nonnegative_float(lr, "lr", positive=True)
    steps, batch = positive_int(steps, "steps"), positive_int(batch, "batch")
    runs, every = positive_int(runs, "runs"), positive_int(record_every, "record_every")
    settle = positive_int(settle_steps, "settle_steps", minimum=0)
    settle_step = lr if settle_lr is None else nonnegative_float(settle_lr, "settle_lr", positive=True)
    noise = nonnegative_float(label_noise, "label_noise")
    generator = torch.Generator().manual_seed(as_seed(seed))
    weights = [torch.nn.Parameter(torch.tensor(w).repeat(runs, 1, 1)) for w in weights0]
    optimizer = torch.optim.SGD(weights, lr=lr, weight_decay=2 * lam)
    positions = torch.as_tensor(observed[:, 0] * goal.shape[1] + observed[:, 1])
    values_observed = torch.as_tensor(goal.ravel())[positions]
    every_entry = torch.arange(len(observed)).repeat(runs, 1)
    largest = torch.zeros(runs, dtype=torch.float64)
    values = []
    for step in range(steps + settle + 1):
        product = chain_product(weights)  # (runs, m, d)
        if step % every == 0:
            values.append(torch.linalg.svdvals(product.detach()).numpy())
        if step == steps + settle:
            break
        if step < steps:
            picks = torch.randint(0, len(observed), (runs, batch), generator=generator)
            labels = values_observed[picks] + noise * torch.randn(
                runs, batch, generator=generator, dtype=torch.float64)
            scale = len(observed) / batch
        else:
            picks, labels, scale = every_entry, values_observed[every_entry], 1.0
            optimizer.param_groups[0]["lr"] = settle_step
        residual = product.reshape(runs, -1).gather(1, positions[picks]) - labels
        largest = torch.maximum(largest, scale * residual.detach().norm(dim=1))
        optimizer.zero_grad()
        (0.5 * scale * (residual**2).sum()).backward()
        optimizer.step()
    clock = np.concatenate([lr * np.arange(steps + 1), lr * steps + settle_step * np.arange(1, settle + 1)])
    return SGDRuns(clock[::every], np.stack(values, axis=1),
                   largest.numpy(), [w.detach().numpy().copy() for w in weights])


def rank_transitions(ranks: ArrayLike, max_rank: int) -> NDArray[np.int64]:
    """Counts C[a, b] of consecutive records with rank a then rank b, summed over runs.

    Jumps up lie above the diagonal.

    Parameters
    ----------
    ranks : array_like of int, shape (runs, n)
        Values in 0..max_rank.
    max_rank : int

    Returns
    -------
    ndarray of int64, shape (max_rank + 1, max_rank + 1)

    Raises
    ------
    ValueError
        When ``ranks`` is not such an array.
    """
    array = np.asarray(as_array(ranks))
    if array.ndim != 2 or array.size == 0 or not np.issubdtype(array.dtype, np.integer) \
            or array.min() < 0 or array.max() > max_rank:
        raise ValueError(f"ranks must be a (runs, n) array with values in 0..{max_rank}")
    counts = np.zeros((max_rank + 1, max_rank + 1), dtype=np.int64)
    np.add.at(counts, (array[:, :-1].ravel(), array[:, 1:].ravel()), 1)
    return counts
