"""Training Leaky ResNets with weight decay, uniform or adaptive layer steps.

α_ℓ = (1 − ρ_ℓL̃)·α_{ℓ−1} + ρ_ℓ·W_ℓσ(α_{ℓ−1}), Σρ_ℓ = 1 (Jacot, Kaiser, arXiv 2405.17573).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from numpy.typing import ArrayLike, NDArray

from rankcheck.errors import NotConvergedError
from rankcheck.numerics.leaky.geodesics import check_path
from rankcheck.numerics.optim import minimize_to_stationarity
from rankcheck.validation import as_array, as_device, as_matrix, as_seed, nonnegative_float, positive_int

__all__ = ["LeakyFit", "leaky_forward", "ADAPTIVE_CAP", "adaptive_steps", "train_leaky_resnet", "SCHEDULES",
           "LeakyRegression", "irregular_steps", "fit_leaky_regression"]

@dataclass(frozen=True)
class LeakyFit:
    """Outcome of ``train_leaky_resnet``.

    Attributes
    ----------
    weights : ndarray, shape (L, w, w)
    rho : ndarray, shape (L,)
        The final layer steps.
    path : ndarray, shape (L + 1, w, N)
        Representations, path[0] = X.
    cost : float
        The parameter cost (1/(2L̃))·Σ_ℓ ρ_ℓ‖W_ℓ‖².
    misfit : float
        (1/N)‖Y − α_L‖².
    gradient : float
        The largest gradient entry at the end.
    objectives : tuple of float
        The regularized loss misfit + λ·cost after each training round ([0] with the starting
        steps, then one per adaptive update).
    """

    weights: NDArray[np.float64]
    rho: NDArray[np.float64]
    path: NDArray[np.float64]
    cost: float
    misfit: float
    gradient: float
    objectives: tuple[float, ...]


def leaky_forward(X: torch.Tensor, weights: torch.Tensor, rho: torch.Tensor,
                  leak: float) -> list[torch.Tensor]:
    """All representations of a Leaky ResNet, α_ℓ = (1 − ρ_ℓL̃)·α_{ℓ−1} + ρ_ℓ·W_ℓσ(α_{ℓ−1}).

    From α_0 = X, σ = ReLU, no bias.

    Parameters
    ----------
    X : torch.Tensor, shape (w, N)
    weights : torch.Tensor, shape (L, w, w)
    rho : torch.Tensor, shape (L,)
    leak : float

    Returns
    -------
    list of torch.Tensor, L + 1 of shape (w, N)
    """
    path = [X]
    for weight, step in zip(weights, rho, strict=True):
        path.append((1 - step * leak) * path[-1] + step * weight @ path[-1].clamp(min=0))
    return path


ADAPTIVE_CAP = 0.9  # default largest ρ_ℓL̃ of the adaptive steps


def adaptive_steps(path: ArrayLike, rho: ArrayLike, leak: float,
                   cap: float = ADAPTIVE_CAP) -> NDArray[np.float64]:
    """The paper's adaptive layer steps ρ_ℓ ← c_ℓ⁻¹/Σ_i c_i⁻¹ (arXiv 2405.17573, Fig. 2a).

    c_ℓ = ‖A_ℓ − A_{ℓ−1}‖_F/ρ_ℓ is the speed of the representation in layer ℓ (the paper divides by a
    norm of A as well; a common scale cancels), so that every layer moves the representation by the
    same distance: layers are dense where it moves fast. Steps are then capped at ρ_ℓL̃ <= ``cap``
    (each layer keeps a share 1 − ρ_ℓL̃ > 0 of its input; the excess goes to the uncapped layers in
    proportion).

    Parameters
    ----------
    path : array_like, shape (L + 1, w, N)
        Representations A_0 … A_L.
    rho : array_like, shape (L,)
        The steps that produced them.
    leak : float
        L̃ > 0.
    cap : float, default ADAPTIVE_CAP (0.9)
        In (0, 1), with L·cap > L̃.

    Returns
    -------
    ndarray, shape (L,)
        Positive, summing to 1.

    Raises
    ------
    ValueError
        Naming the argument: a bad path or steps (``check_path``: non-finite, shapes that do not
        match, a step <= 0), a ``cap`` outside (0, 1) or too small.
    """
    reps, steps = check_path(path, rho)
    leak = nonnegative_float(leak, "leak", positive=True)
    if not 0 < cap < 1 or steps.size * cap <= leak:
        raise ValueError(f"cap must be in (0, 1) with L·cap > leak so that ρL̃ <= cap can sum to 1, got "
                         f"cap={cap}, L={steps.size}, leak={leak}")
    speeds = np.linalg.norm(reps[1:] - reps[:-1], axis=(1, 2)) / steps
    new = 1 / np.maximum(speeds, 1e-300)
    new /= new.sum()
    limit = cap / leak
    while np.any(new > limit * (1 + 1e-12)):
        capped = new >= limit
        new[capped] = limit
        new[~capped] *= (1 - limit * capped.sum()) / new[~capped].sum()
    return new


def train_leaky_resnet(X: ArrayLike, Y: ArrayLike, depth: int, leak: float, lam: float, *,
                       rho: ArrayLike | None = None, seed: int = 0, gradient_tol: float = 1e-7,
                       init: str = "small", plateau_rtol: float | None = None,
                       adaptive_rounds: int = 0) -> LeakyFit:
    """Train a depth-L Leaky ResNet on (1/N)‖Y − α_L‖² + (λ/(2L̃))·Σ_ℓ ρ_ℓ‖W_ℓ‖² by L-BFGS.

    To a stationary point (or, with ``plateau_rtol``, to a plateau: see
    ``rankcheck.numerics.optim.minimize_to_stationarity``); width w = X's rows. With
    ``adaptive_rounds`` = k > 0 the steps are then replaced k times by ``adaptive_steps`` of the
    trained path, each time training on from the current weights.

    Parameters
    ----------
    X, Y : array_like, shape (w, N)
    depth : int
        L >= 1.
    leak : float
        L̃ > 0, with ρ_ℓL̃ < 1.
    lam : float
        λ >= 0.
    rho : array_like, shape (L,), optional
        Positive layer steps summing to 1 (default uniform 1/L).
    seed : int, default 0
    gradient_tol : float, default 1e-7
    init : {"small", "identity"}, default "small"
        "small": W_ℓ ~ N(0, 0.01/w); "identity": W_ℓ = L̃·I + N(0, 10⁻⁴), under which every layer maps
        a non-negative representation to itself — at large L̃ the small start leaves (1 − ρL̃)^L of
        the signal at the output and training stops at W = 0.
    plateau_rtol : float, optional
    adaptive_rounds : int, default 0

    Returns
    -------
    LeakyFit

    Raises
    ------
    ValueError
        Naming the argument: X and Y of different shapes, bad ``rho``, ρ_ℓL̃ >= 1, a negative
        ``adaptive_rounds`` or one without room for the capped steps.
    NotConvergedError
        When L-BFGS stops above ``gradient_tol``.
    """
    inputs, targets = as_matrix(X, "X"), as_matrix(Y, "Y")
    if inputs.shape != targets.shape:
        raise ValueError(f"X and Y must have the same shape (w, N), got {inputs.shape} and "
                         f"{targets.shape}")
    depth, leak = positive_int(depth, "depth"), nonnegative_float(leak, "leak", positive=True)
    lam = nonnegative_float(lam, "lam", positive=True)
    if not isinstance(adaptive_rounds, int) or adaptive_rounds < 0:
        raise ValueError(f"adaptive_rounds must be a non-negative integer, got {adaptive_rounds!r}")
    if adaptive_rounds and depth * ADAPTIVE_CAP <= leak:
        raise ValueError(f"adaptive_rounds needs depth * {ADAPTIVE_CAP} > leak (room for the capped steps), "
                         f"got depth={depth}, leak={leak}")
    steps = np.full(depth, 1.0 / depth) if rho is None else np.asarray(as_array(rho), dtype=np.float64)
    if steps.shape != (depth,) or np.any(steps <= 0) or abs(steps.sum() - 1) > 1e-12:
        raise ValueError(f"rho must be {depth} positive layer steps summing to 1, got {steps}")
    if np.any(steps * leak >= 1):
        raise ValueError(f"every rho_l * leak must be < 1, got max {np.max(steps) * leak:.3g}")
    width, points = inputs.shape
    if init not in ("small", "identity"):
        raise ValueError(f"init must be 'small' or 'identity', got {init!r}")
    generator = torch.Generator().manual_seed(as_seed(seed))
    noise = torch.randn(depth, width, width, generator=generator, dtype=torch.float64)
    start = (0.1 * noise / np.sqrt(width) if init == "small"
             else leak * torch.eye(width, dtype=torch.float64) + 0.01 * noise)
    weights = start.requires_grad_(True)
    rho_t, X_t, Y_t = torch.from_numpy(steps.copy()), torch.from_numpy(inputs), torch.from_numpy(targets)

    def cost() -> torch.Tensor:
        return (rho_t * (weights**2).sum(dim=(1, 2))).sum() / (2 * leak)

    def misfit() -> torch.Tensor:
        return ((Y_t - leaky_forward(X_t, weights, rho_t, leak)[-1]) ** 2).sum() / points

    def objective() -> torch.Tensor:
        return misfit() + lam * cost()

    objectives = []
    for round_ in range(adaptive_rounds + 1):
        if round_:
            with torch.no_grad():
                path = torch.stack(leaky_forward(X_t, weights, rho_t, leak)).numpy()
            rho_t.copy_(torch.from_numpy(adaptive_steps(path, rho_t.numpy(), leak)))
        gradient = minimize_to_stationarity(objective, [weights], 40, gradient_tol, "train_leaky_resnet",
                                            plateau_rtol=plateau_rtol)
        with torch.no_grad():
            objectives.append(float(objective()))
    with torch.no_grad():
        path = torch.stack(leaky_forward(X_t, weights, rho_t, leak))
        return LeakyFit(weights.detach().numpy().copy(), rho_t.numpy().copy(), path.numpy(), float(cost()),
                        float(misfit()), gradient, tuple(objectives))


SCHEDULES = ("uniform", "adaptive", "irregular")


@dataclass(frozen=True)
class LeakyRegression:
    """Outcome of ``fit_leaky_regression``.

    Attributes
    ----------
    train_error, test_error : float
        (1/N)Σ‖y − f(x)‖² on the training and the test set at the end.
    objective : float
        train_error + (λ/(2L̃))·Σ_ℓ ρ_ℓ‖W_ℓ‖² at the end.
    rho : ndarray, shape (L,)
        The final layer steps.
    weights : ndarray, shape (L, w, w + 1)
        The final weights, biases in the last column.
    history : ndarray, shape (records, 3)
        Step, training objective and test error, every ``record_every`` steps and at the end.
    """

    train_error: float
    test_error: float
    objective: float
    rho: NDArray[np.float64]
    weights: NDArray[np.float64]
    history: NDArray[np.float64]


def irregular_steps(depth: int, contrast: float = 0.8) -> NDArray[np.float64]:
    """A small–large–small schedule ρ_ℓ ∝ 1 + contrast·sin(π(ℓ − ½)/L), summing to 1.

    Parameters
    ----------
    depth : int
        L >= 1.
    contrast : float, default 0.8
        In [0, 1): 0 is uniform.

    Returns
    -------
    ndarray, shape (L,)

    Raises
    ------
    ValueError
        Naming the argument.
    """
    depth = positive_int(depth, "depth")
    if not 0 <= contrast < 1:
        raise ValueError(f"contrast must be in [0, 1), got {contrast!r}")
    weights = 1 + contrast * np.sin(np.pi * (np.arange(depth) + 0.5) / depth)
    return weights / weights.sum()


def fit_leaky_regression(X: ArrayLike, Y: ArrayLike, X_test: ArrayLike, Y_test: ArrayLike, depth: int, *,
                         leak: float = 3.0, lam: float = 1e-3, width: int = 100, schedule: str = "uniform",
                         adam_steps: int = 5000, sgd_steps: int = 1000, adam_lr: float = 1e-3,
                         sgd_lr: float = 1e-2, update_every: int = 10, record_every: int = 100,
                         seed: int = 0, device: str | torch.device = "cpu",
                         dtype: torch.dtype = torch.float32) -> LeakyRegression:
    """Train a Leaky ResNet with biases on a regression task as in Fig. 2a of arXiv 2405.17573.

    α_ℓ = (1 − ρ_ℓL̃)·α_{ℓ−1} + ρ_ℓ·W_ℓσ(α_{ℓ−1}) with σ(z) = ([z]₊, 1), so the last column of
    W_ℓ (w, w + 1) is a bias; the input is embedded in ℝ^w by zero padding and the output is read
    from the first d_out coordinates. Objective (1/N)Σ‖y_i − f(x_i)‖² + (λ/(2L̃))·Σ_ℓ ρ_ℓ‖W_ℓ‖²_F;
    full-batch Adam for ``adam_steps`` steps, then full-batch SGD at ``sgd_lr`` (the paper: Adam
    ~5 000 epochs then ~1 000 of SGD at a smaller rate). Layer steps: ``uniform`` ρ_ℓ = 1/L,
    ``irregular`` (``irregular_steps``), or ``adaptive``: from uniform, replaced every
    ``update_every`` steps of training by ``adaptive_steps`` of the current training path.

    Parameters
    ----------
    X, Y : array_like, shape (d_in, N) and (d_out, N)
    X_test, Y_test : array_like, shape (d_in, N_test) and (d_out, N_test)
    depth : int
        L >= 1, with L > L̃ (uniform ρL̃ < 1) and room for the capped adaptive steps.
    leak : float, default 3.0
        L̃ > 0.
    lam : float, default 1e-3
        λ > 0.
    width : int, default 100
        w >= max(d_in, d_out).
    schedule : {"uniform", "adaptive", "irregular"}, default "uniform"
    adam_steps, sgd_steps : int, default 5000, 1000
        >= 0, not both 0.
    adam_lr, sgd_lr : float, default 1e-3, 1e-2
    update_every : int, default 10
        Steps between adaptive updates.
    record_every : int, default 100
    seed : int, default 0
        Of the initialization W_ℓ ~ N(0, 1/w) (biases 0).
    device : str or torch.device, default "cpu"
        Where the training runs ("cuda" on a GPU); results come back as numpy.
    dtype : torch.dtype, default torch.float32

    Returns
    -------
    LeakyRegression

    Raises
    ------
    ValueError
        Naming the argument: shapes, a width below the data's dimensions, a schedule not in
        ``SCHEDULES``, ρ_ℓL̃ >= 1, bad step counts or rates, an unknown device.
    NotConvergedError
        When the objective becomes non-finite (the step at which it happens is named).
    """
    inputs, targets = as_matrix(X, "X"), as_matrix(Y, "Y")
    test_inputs, test_targets = as_matrix(X_test, "X_test"), as_matrix(Y_test, "Y_test")
    if inputs.shape[1] != targets.shape[1] or test_inputs.shape[1] != test_targets.shape[1]:
        raise ValueError(f"X and Y (and X_test and Y_test) must hold the same number of points, got "
                         f"{inputs.shape}, {targets.shape}, {test_inputs.shape}, {test_targets.shape}")
    if test_inputs.shape[0] != inputs.shape[0] or test_targets.shape[0] != targets.shape[0]:
        raise ValueError(f"the test set must have the training set's dimensions, got X {inputs.shape}, "
                         f"X_test {test_inputs.shape}, Y {targets.shape}, Y_test {test_targets.shape}")
    depth, width = positive_int(depth, "depth"), positive_int(width, "width")
    leak = nonnegative_float(leak, "leak", positive=True)
    lam = nonnegative_float(lam, "lam", positive=True)
    if width < max(inputs.shape[0], targets.shape[0]):
        raise ValueError(f"width must be >= the input and output dimensions, got {width} for "
                         f"{inputs.shape[0]} and {targets.shape[0]}")
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule must be one of {SCHEDULES}, got {schedule!r}")
    for name, value in (("adam_steps", adam_steps), ("sgd_steps", sgd_steps)):
        if not isinstance(value, int) or value < 0:
            raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    if adam_steps + sgd_steps == 0:
        raise ValueError("adam_steps and sgd_steps cannot both be 0")
    adam_lr = nonnegative_float(adam_lr, "adam_lr", positive=True)
    sgd_lr = nonnegative_float(sgd_lr, "sgd_lr", positive=True)
    update_every = positive_int(update_every, "update_every")
    record_every = positive_int(record_every, "record_every")
    steps = irregular_steps(depth) if schedule == "irregular" else np.full(depth, 1.0 / depth)
    if np.max(steps) * leak >= 1:
        raise ValueError(f"every rho_l * leak must be < 1: depth {depth} is too small for leak {leak} "
                         f"with the {schedule} schedule")
    if schedule == "adaptive" and depth * ADAPTIVE_CAP <= leak:
        raise ValueError(f"the adaptive schedule needs depth * {ADAPTIVE_CAP} > leak, got depth={depth}, "
                         f"leak={leak}")
    where = as_device(device)
    d_out = targets.shape[0]

    def embed(A: NDArray[np.float64]) -> torch.Tensor:
        padded = np.zeros((width, A.shape[1]))
        padded[: A.shape[0]] = A
        return torch.as_tensor(padded, dtype=dtype, device=where)

    X_t, X_s = embed(inputs), embed(test_inputs)
    Y_t = torch.as_tensor(targets, dtype=dtype, device=where)
    Y_s = torch.as_tensor(test_targets, dtype=dtype, device=where)
    generator = torch.Generator().manual_seed(as_seed(seed))
    start = torch.randn(depth, width, width + 1, generator=generator, dtype=torch.float64) / np.sqrt(width)
    start[:, :, -1] = 0.0
    weights = start.to(dtype=dtype, device=where).requires_grad_(True)
    rho = torch.as_tensor(steps, dtype=dtype, device=where)

    def forward(A: torch.Tensor) -> list[torch.Tensor]:
        ones = torch.ones(1, A.shape[1], dtype=dtype, device=where)
        path = [A]
        for weight, step in zip(weights, rho, strict=True):
            features = torch.cat([path[-1].clamp(min=0), ones])
            path.append((1 - step * leak) * path[-1] + step * (weight @ features))
        return path

    def error(A: torch.Tensor, T: torch.Tensor) -> torch.Tensor:
        return ((forward(A)[-1][:d_out] - T) ** 2).sum() / T.shape[1]

    def objective() -> torch.Tensor:
        return error(X_t, Y_t) + lam * (rho * (weights**2).sum(dim=(1, 2))).sum() / (2 * leak)

    adam = torch.optim.Adam([weights], lr=adam_lr)
    sgd = torch.optim.SGD([weights], lr=sgd_lr)
    history = []
    total = adam_steps + sgd_steps
    for step in range(total + 1):
        if schedule == "adaptive" and step % update_every == 0 and step < total:
            with torch.no_grad():
                path = torch.stack(forward(X_t)).double().cpu().numpy()
            rho.copy_(torch.as_tensor(adaptive_steps(path, rho.double().cpu().numpy(), leak), dtype=dtype))
        loss = objective()
        if not torch.isfinite(loss.detach()):
            raise NotConvergedError(f"fit_leaky_regression: the objective became {loss.item()} at step "
                                    f"{step} (adam_lr={adam_lr}, sgd_lr={sgd_lr})")
        if step % record_every == 0 or step == total:
            with torch.no_grad():
                history.append((step, float(loss), float(error(X_s, Y_s))))
        if step == total:
            break
        optimizer = adam if step < adam_steps else sgd
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        train_error, test_error = float(error(X_t, Y_t)), float(error(X_s, Y_s))
        return LeakyRegression(train_error, test_error, float(objective()), rho.double().cpu().numpy(),
                               weights.double().cpu().numpy(), np.asarray(history))
