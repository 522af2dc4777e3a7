"""Representation geodesics of Leaky ResNets: the cost of identity, the discrete action and its
minimizing paths.

Source: Jacot, Kaiser, arXiv 2405.17573; the derivations are in ``rankcheck.theory.leaky``.
Representations A are (w, N): one column per training point. σ(z) = [z]₊ ("relu") or z
("identity"). With γ >= 0 the norm ‖M‖²_{K+γI} = Tr[M(K + γI)⁻¹Mᵀ] (K = σ(A)ᵀσ(A)) replaces
‖M‖²_K (the paper's γ-stabilized version; γ = 0 uses the pseudo-inverse).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from numpy.typing import ArrayLike, NDArray

from rankcheck.errors import NotConvergedError
from rankcheck.numerics.optim import lbfgs
from rankcheck.validation import as_finite, as_matrix, nonnegative_float, positive_int

__all__ = [
    "cost_of_identity", "check_path", "Geodesic", "step_hamiltonians", "solve_geodesic", "discrete_action",
]

_ACTIVATIONS = {"relu": lambda z: z.clamp(min=0) if isinstance(z, torch.Tensor) else np.maximum(z, 0.0),
                "identity": lambda z: z}


def _sigma(activation: str):
    if activation not in _ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(_ACTIVATIONS)}, got {activation!r}")
    return _ACTIVATIONS[activation]


def cost_of_identity(A: ArrayLike, activation: str = "relu", gamma: float = 0.0) -> float:
    """The cost of identity COI(A) = ‖Aσ(A)⁺‖²_F: the squared norm of the smallest W with Wσ(A) = A.

    Tr[AᵀA K⁺] with K = σ(A)ᵀσ(A) (γ = 0, by least squares) or Tr[AᵀA (K + γI)⁻¹] (γ > 0). Equals
    rank A for σ = identity, and for ReLU when A >= 0; invariant under A → cA, c > 0 (Jacot et al.,
    arXiv 2405.17573).

    Parameters
    ----------
    A : array_like, shape (w, N)
        A representation: w neurons on N points.
    activation : {"relu", "identity"}, default "relu"
    gamma : float, default 0
        Ridge γ >= 0.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        Naming the argument: a non-finite ``A``, an unknown activation, a negative γ.
    """
    reps = as_matrix(A, "A")
    gamma = nonnegative_float(gamma, "gamma")
    post = _sigma(activation)(reps)
    if gamma == 0.0:
        weights = np.linalg.lstsq(post.T, reps.T, rcond=None)[0].T
        return float(np.sum(weights**2))
    K = post.T @ post + gamma * np.eye(reps.shape[1])
    return float(np.trace(reps @ np.linalg.solve(K, reps.T)))


@dataclass(frozen=True)
class Geodesic:
    """Outcome of ``solve_geodesic``.

    Attributes
    ----------
    path : ndarray, shape (steps + 1, w, N)
        The representations at p_k = k/steps.
    action : float
        The discrete action Σ_k Δ·ℒ_k.
    hamiltonian : ndarray, shape (steps,)
        H on each step.
    coi : ndarray, shape (steps + 1,)
        The cost of identity along the path.
    grad_norm : float
        The optimizer's final gradient norm.
    """

    path: NDArray[np.float64]
    action: float
    hamiltonian: NDArray[np.float64]
    coi: NDArray[np.float64]
    grad_norm: float


def _step_terms(path: torch.Tensor, leak: float, gamma: float, activation: str
                ) -> tuple[torch.Tensor, torch.Tensor]:
    """Per step k: ℒ_k = (1/(2L̃))‖V_k + L̃A_k‖²_{K_k+γI} with V_k = (A_{k+1} − A_k)/Δ (the forward
    Euler step of the Leaky ResNet, layer step Δ), and H_k = (L̃/2)Tr[P K Pᵀ] − L̃Tr[P Aᵀ] with
    P = (V_k + L̃A_k)(K_k + γI)⁻¹/L̃."""
    steps = path.shape[0] - 1
    A, V = path[:-1], (path[1:] - path[:-1]) * steps
    post = _sigma(activation)(A)
    K = post.transpose(1, 2) @ post
    eye = torch.eye(K.shape[-1], dtype=K.dtype)
    M = V + leak * A
    Pt = torch.linalg.solve(K + gamma * eye, M.transpose(1, 2))  # (K + γI)⁻¹ Mᵀ, (steps, N, w)
    density = torch.einsum("kwn,knw->k", M, Pt) / (2 * leak)
    P = Pt.transpose(1, 2) / leak
    H = leak / 2 * torch.einsum("kwn,knm,kwm->k", P, K, P) - leak * torch.einsum("kwn,kwn->k", P, A)
    return density, H


def step_hamiltonians(path: ArrayLike, leak: float, *, gamma: float = 0.0,
                      activation: str = "relu") -> NDArray[np.float64]:
    """The Hamiltonian on each step of a path with uniform steps.

    H_k = (L̃/2)Tr[P K Pᵀ] − L̃Tr[P Aᵀ] with P = (V_k + L̃A_k)(K_k + γI)⁻¹/L̃ the momentum of the
    step's velocity V_k = (A_{k+1} − A_k)·steps: constant along a geodesic, and ≈ −(L̃/2)·k* in a
    bottleneck of rank k* at large L̃ (arXiv 2405.17573).

    Parameters
    ----------
    path : array_like, shape (steps + 1, w, N)
        E.g. a trained network's representations; steps >= 1.
    leak : float
        L̃ > 0.
    gamma : float, default 0
    activation : {"relu", "identity"}, default "relu"

    Returns
    -------
    ndarray, shape (steps,)

    Raises
    ------
    ValueError
        Naming the argument: a path of the wrong shape, a non-positive ``leak``.
    """
    reps = as_finite(path, "path")
    if reps.ndim != 3 or reps.shape[0] < 2:
        raise ValueError(f"path must have shape (steps + 1, w, N) with steps >= 1, got {reps.shape}")
    leak = nonnegative_float(leak, "leak", positive=True)
    _sigma(activation)
    _, H = _step_terms(torch.from_numpy(reps), leak, nonnegative_float(gamma, "gamma"), activation)
    return H.numpy()


def solve_geodesic(A0: ArrayLike, A1: ArrayLike, leak: float, steps: int, *, activation: str = "relu",
                   gamma: float = 1e-6, iterations: int = 5000, grad_tol: float = 1e-5,
                   start: ArrayLike | None = None) -> Geodesic:
    """The path from A0 to A1 minimizing the discrete action Σ_k Δ·ℒ_k over its interior points.

    By L-BFGS (torch, float64) from the straight line (or ``start``). The discrete problem's
    conditioning grows like steps², so fine paths need more iterations.

    Parameters
    ----------
    A0, A1 : array_like, shape (w, N)
    leak : float
        L̃ > 0.
    steps : int
        Δ = 1/steps.
    activation : {"relu", "identity"}, default "relu"
    gamma : float, default 1e-6
        Ridge of the kernel inverse.
    iterations : int, default 5000
    grad_tol : float, default 1e-5
    start : array_like, shape (steps + 1, w, N), optional

    Returns
    -------
    Geodesic

    Raises
    ------
    ValueError
        Naming the argument: shapes that differ, a ``start`` of the wrong shape, non-positive sizes.
    NotConvergedError
        When the gradient norm stays above ``grad_tol``.
    """
    begin, end = as_matrix(A0, "A0"), as_matrix(A1, "A1")
    if begin.shape != end.shape:
        raise ValueError(f"A0 and A1 must have the same shape, got {begin.shape} and {end.shape}")
    leak = nonnegative_float(leak, "leak", positive=True)
    steps = positive_int(steps, "steps", minimum=2)
    gamma = nonnegative_float(gamma, "gamma")
    _sigma(activation)
    weights = np.linspace(0.0, 1.0, steps + 1)[:, None, None]
    straight = (1 - weights) * begin + weights * end
    initial = straight if start is None else as_finite(start, "start")
    if initial.shape != (steps + 1, *begin.shape):
        raise ValueError(f"start must have shape {(steps + 1, *begin.shape)}, got {initial.shape}")
    ends = (torch.as_tensor(begin)[None], torch.as_tensor(end)[None])
    interior = torch.as_tensor(initial[1:-1].copy()).requires_grad_()

    def action() -> torch.Tensor:
        density, _ = _step_terms(torch.cat([ends[0], interior, ends[1]]), leak, gamma, activation)
        return density.sum() / steps

    optimizer, closure = lbfgs(action, [interior], max_iter=iterations, tolerance_grad=grad_tol / 100,
                               tolerance_change=1e-18)
    optimizer.step(closure)
    value = closure().item()
    grad_norm = float(interior.grad.norm())
    if not np.isfinite(grad_norm) or grad_norm > grad_tol:
        raise NotConvergedError(f"solve_geodesic: gradient norm {grad_norm:.2e} after L-BFGS "
                                f"(tolerance {grad_tol:g})")
    array = torch.cat([ends[0], interior.detach(), ends[1]]).numpy()
    return Geodesic(path=array, action=value,
                    hamiltonian=step_hamiltonians(array, leak, gamma=gamma, activation=activation),
                    coi=np.array([cost_of_identity(a, activation, gamma) for a in array]),
                    grad_norm=grad_norm)


def check_path(path: ArrayLike, rho: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Validate a path of representations and the layer steps that produced it.

    Parameters
    ----------
    path : array_like, shape (L + 1, w, N)
    rho : array_like, shape (L,)
        Positive layer steps.

    Returns
    -------
    (path, rho) : tuple of ndarray of float64

    Raises
    ------
    ValueError
        Naming the argument: non-finite entries, a path that is not 3-D, steps that are not one
        per layer of the path, or a step <= 0.
    """
    reps, steps = as_finite(path, "path", ndim=3), as_finite(rho, "rho", ndim=1)
    if steps.shape != (reps.shape[0] - 1,):
        raise ValueError(f"rho must hold one step per layer of path ({reps.shape[0] - 1}), got "
                         f"{steps.size}")
    if np.any(steps <= 0):
        raise ValueError(f"rho must be positive layer steps, got min {steps.min():.3g}")
    return reps, steps


def discrete_action(path: ArrayLike, rho: ArrayLike, leak: float) -> float:
    """The discrete action Σ_ℓ ρ_ℓ·ℒ(A_{ℓ−1}, V_ℓ) of a path of representations.

    V_ℓ = (A_ℓ − A_{ℓ−1})/ρ_ℓ, ℒ = (1/(2L̃))‖V + L̃A‖²_K with the pseudo-inverse of K = σ(A)ᵀσ(A): the
    least cost of any Leaky ResNet with these representations.

    Parameters
    ----------
    path : array_like, shape (L + 1, w, N)
    rho : array_like, shape (L,)
    leak : float

    Returns
    -------
    float

    Raises
    ------
    ValueError
        Naming the argument: as ``check_path``, or ``leak`` <= 0.
    """
    reps, steps = check_path(path, rho)
    leak = nonnegative_float(leak, "leak", positive=True)
    total = 0.0
    for before, after, step in zip(reps[:-1], reps[1:], steps, strict=True):
        post = np.maximum(before, 0.0)
        moved = (after - before) / step + leak * before
        total += step * float(np.sum((moved @ np.linalg.pinv(post)) ** 2)) / (2 * leak)
    return total
