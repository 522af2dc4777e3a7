"""Representation geodesics of Leaky ResNets, numerically: the cost of identity and a geodesic solver.

Source: Jacot, Kaiser, arXiv 2405.17573 (CLAIMS.md §6); the derivations are in ``theory.geodesics``.
Representations A are (w, N): one column per training point. σ(z) = [z]₊ ("relu") or z
("identity"). With γ ≥ 0 the norm ‖M‖²_{K+γI} = Tr[M(K + γI)⁻¹Mᵀ] (K = σ(A)ᵀσ(A)) replaces ‖M‖²_K
(the paper's γ-stabilized version; γ = 0 uses the pseudo-inverse).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from numpy.typing import ArrayLike, NDArray

from numerics.validation import NotConvergedError, as_matrix, nonnegative_float, positive_int

_ACTIVATIONS = {"relu": lambda z: z.clamp(min=0) if isinstance(z, torch.Tensor) else np.maximum(z, 0.0),
                "identity": lambda z: z}


def _sigma(activation: str):
    if activation not in _ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(_ACTIVATIONS)}, got {activation!r}")
    return _ACTIVATIONS[activation]


def cost_of_identity(A: ArrayLike, activation: str = "relu", gamma: float = 0.0) -> float:
    """COI(A) = ‖Aσ(A)⁺‖²_F = Tr[AᵀA K⁺] (γ = 0, by least squares) or Tr[AᵀA (K + γI)⁻¹] (γ > 0):
    the squared norm of the smallest W with W σ(A) = A. Equals rank A for σ = identity, and for ReLU
    when A ≥ 0; invariant under A → cA, c > 0."""
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
    """Output of ``solve_geodesic``: ``path`` (steps + 1, w, N) at p_k = k/steps, the discrete
    ``action`` Σ_k Δ·ℒ_k, the Hamiltonian ``hamiltonian`` (steps,) on each step, the cost of identity
    ``coi`` (steps + 1,) along the path, and the optimizer's final gradient norm."""

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


def solve_geodesic(A0: ArrayLike, A1: ArrayLike, leak: float, steps: int, *, activation: str = "relu",
                   gamma: float = 1e-6, iterations: int = 5000, grad_tol: float = 1e-5,
                   start: ArrayLike | None = None) -> Geodesic:
    """The path from A0 to A1 (both (w, N)) minimizing the discrete action Σ_k Δ·ℒ_k (``_step_terms``)
    over its interior points, by L-BFGS (torch, float64) from the straight line (or ``start``,
    (steps + 1, w, N)). Raises ``NotConvergedError`` when the gradient norm stays above ``grad_tol``
    (the discrete problem's conditioning grows like steps², so fine paths need more iterations).
    """
    begin, end = as_matrix(A0, "A0"), as_matrix(A1, "A1")
    if begin.shape != end.shape:
        raise ValueError(f"A0 and A1 must have the same shape, got {begin.shape} and {end.shape}")
    leak = nonnegative_float(leak, "leak", positive=True)
    steps = positive_int(steps, "steps", minimum=2)
    gamma = nonnegative_float(gamma, "gamma")
    _sigma(activation)
    weights = np.linspace(0.0, 1.0, steps + 1)[:, None, None]
    initial = (1 - weights) * begin + weights * end if start is None else np.asarray(start, dtype=float)
    if initial.shape != (steps + 1, *begin.shape):
        raise ValueError(f"start must have shape {(steps + 1, *begin.shape)}, got {initial.shape}")
    ends = (torch.as_tensor(begin)[None], torch.as_tensor(end)[None])
    interior = torch.as_tensor(initial[1:-1].copy()).requires_grad_()

    def action() -> torch.Tensor:
        density, _ = _step_terms(torch.cat([ends[0], interior, ends[1]]), leak, gamma, activation)
        return density.sum() / steps

    optimizer = torch.optim.LBFGS([interior], lr=1.0, max_iter=iterations, tolerance_grad=grad_tol / 100,
                                  tolerance_change=1e-18, history_size=50, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        value = action()
        value.backward()
        return value

    optimizer.step(closure)
    value = closure().item()
    grad_norm = float(interior.grad.norm())
    if not np.isfinite(grad_norm) or grad_norm > grad_tol:
        raise NotConvergedError(f"solve_geodesic: gradient norm {grad_norm:.2e} after L-BFGS "
                                f"(tolerance {grad_tol:g})")
    with torch.no_grad():
        path = torch.cat([ends[0], interior, ends[1]])
        _, H = _step_terms(path, leak, gamma, activation)
    array = path.detach().numpy()
    return Geodesic(path=array, action=value, hamiltonian=H.numpy(),
                    coi=np.array([cost_of_identity(a, activation, gamma) for a in array]),
                    grad_norm=grad_norm)
