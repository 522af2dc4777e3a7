"""Training Leaky ResNets with weight decay, uniform or adaptive layer steps.

α_ℓ = (1 − ρ_ℓL̃)·α_{ℓ−1} + ρ_ℓ·W_ℓσ(α_{ℓ−1}), Σρ_ℓ = 1 (Jacot, Kaiser, arXiv 2405.17573).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from numpy.typing import ArrayLike, NDArray

from rankcheck.numerics.leaky.geodesics import check_path
from rankcheck.numerics.optim import minimize_to_stationarity
from rankcheck.validation import as_array, as_matrix, nonnegative_float, positive_int

__all__ = ["LeakyFit", "leaky_forward", "ADAPTIVE_CAP", "adaptive_steps", "train_leaky_resnet"]

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
    generator = torch.Generator().manual_seed(seed)
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
