"""Representation geodesics of Leaky ResNets, numerically: the cost of identity and a geodesic solver.

Source: Jacot, Kaiser, arXiv 2405.17573 (CLAIMS.md §6); the derivations are in ``theory.leaky``.
Representations A are (w, N): one column per training point. σ(z) = [z]₊ ("relu") or z
("identity"). With γ ≥ 0 the norm ‖M‖²_{K+γI} = Tr[M(K + γI)⁻¹Mᵀ] (K = σ(A)ᵀσ(A)) replaces ‖M‖²_K
(the paper's γ-stabilized version; γ = 0 uses the pseudo-inverse).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from numpy.typing import ArrayLike, NDArray

from rankcheck.errors import NotConvergedError
from rankcheck.numerics.optim import lbfgs, minimize_to_stationarity
from rankcheck.validation import as_array, as_matrix, nonnegative_float, positive_int

__all__ = [
    "cost_of_identity", "Geodesic", "step_hamiltonians", "solve_geodesic",
    "hamilton_field", "hamiltonian", "Shot", "shoot", "hamilton_tangent", "solve_geodesic_bvp",
    "LeakyFit", "leaky_forward", "ADAPTIVE_CAP", "adaptive_steps", "train_leaky_resnet",
    "discrete_action"
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
    reps = np.asarray(as_array(path), dtype=np.float64)
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
    initial = straight if start is None else np.asarray(as_array(start), dtype=float)
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


# ---------------------------------------------------------------------------------------------
# Hamilton's equations: shooting and the boundary-value problem
# ---------------------------------------------------------------------------------------------

Matrix = NDArray[np.float64]
Field = Callable[[Matrix, Matrix, float], tuple[Matrix, Matrix]]  # (A, B, L̃) -> (Ȧ, Ḃ)
Array = NDArray[np.float64] | torch.Tensor  # the Hamilton field works on either, batched


def _transpose(M: Array) -> Array:
    """Swap the last two axes (numpy or torch, batched)."""
    return M.swapaxes(-1, -2)


def hamilton_field(A: Array, B: Array, leak: float) -> tuple[Array, Array]:
    """Hamilton's equations of Leaky ResNets for ReLU (arXiv 2405.17573).

    Ȧ = L̃(B K − A), Ḃ = −L̃(σ̇(A) ⊙ [σ(A) Bᵀ B] − B), K = σ(A)ᵀσ(A).

    Parameters
    ----------
    A, B : ndarray or torch.Tensor, shape (..., w, N)
        Representation and costate (batched over leading axes).
    leak : float
        L̃.

    Returns
    -------
    (Ȧ, Ḃ) : tuple of arrays, shape (..., w, N)
    """
    post = _sigma("relu")(A)
    velocity = leak * (B @ _transpose(post) @ post - A)
    costate = -leak * ((A > 0) * (post @ _transpose(B) @ B) - B)
    return velocity, costate


def hamiltonian(A: NDArray[np.float64], B: NDArray[np.float64], leak: float) -> float:
    """H = (L̃/2)‖B σ(A)ᵀ‖² − L̃·Tr[B Aᵀ] (ReLU).

    Parameters
    ----------
    A, B : ndarray, shape (w, N)
    leak : float

    Returns
    -------
    float
    """
    return float(leak / 2 * np.sum((B @ np.maximum(A, 0.0).T) ** 2) - leak * np.sum(B * A))


@dataclass(frozen=True)
class Shot:
    """Outcome of ``shoot`` (and ``solve_geodesic_bvp``).

    Attributes
    ----------
    p : ndarray, shape (samples,)
        Depths in [0, 1].
    A, B : ndarray, shape (samples, w, N)
        Representations and costates.
    H : ndarray, shape (samples,)
        The Hamiltonian.
    evaluations : int
        The integrator's number of field evaluations.
    """

    p: NDArray[np.float64]
    A: NDArray[np.float64]
    B: NDArray[np.float64]
    H: NDArray[np.float64]
    evaluations: int


def shoot(A0: ArrayLike, B0: ArrayLike, leak: float, *, field: Field = hamilton_field, rtol: float = 1e-10,
          samples: int = 101) -> Shot:
    """Integrate Hamilton's equations from (A0, B0) over p ∈ [0, 1] with scipy's DOP853.

    Parameters
    ----------
    A0, B0 : array_like, shape (w, N)
    leak : float
        L̃ > 0.
    field : callable, default hamilton_field
        (A, B, L̃) -> (Ȧ, Ḃ).
    rtol : float, default 1e-10
        Relative tolerance (absolute ``rtol``/100).
    samples : int, default 101
        Depths at which the solution is sampled.

    Returns
    -------
    Shot

    Raises
    ------
    ValueError
        Naming the argument: shapes that differ, non-finite entries.
    NotConvergedError
        When the integrator stops early (blow-up).
    """
    from scipy.integrate import solve_ivp

    begin, costate = as_matrix(A0, "A0"), as_matrix(B0, "B0")
    if begin.shape != costate.shape:
        raise ValueError(f"A0 and B0 must have the same shape, got {begin.shape} and {costate.shape}")
    leak = nonnegative_float(leak, "leak", positive=True)
    shape, size = begin.shape, begin.size

    def rhs(_, state):
        velocity, change = field(state[:size].reshape(shape), state[size:].reshape(shape), leak)
        return np.concatenate([np.ravel(velocity), np.ravel(change)])

    rtol = nonnegative_float(rtol, "rtol", positive=True)
    solution = solve_ivp(rhs, (0.0, 1.0), np.concatenate([begin.ravel(), costate.ravel()]), method="DOP853",
                         rtol=rtol, atol=rtol / 100, dense_output=True)
    if solution.status != 0:
        raise NotConvergedError(f"shoot: the integrator stopped at p = {solution.t[-1]:.3g}: "
                                f"{solution.message}")
    depths = np.linspace(0.0, 1.0, positive_int(samples, "samples", minimum=2))
    states = solution.sol(depths).T
    reps, costates = states[:, :size].reshape(-1, *shape), states[:, size:].reshape(-1, *shape)
    return Shot(depths, reps, costates, np.array([hamiltonian(a, b, leak) for a, b in zip(reps, costates,
                                                                                           strict=True)]),
                solution.nfev)


def hamilton_tangent(A: Array, B: Array, dA: Array, dB: Array, leak: float) -> tuple[Array, Array]:
    """The derivative of ``hamilton_field`` at (A, B) along (dA, dB): the variational equations.

    With P = σ(A), dP = σ̇(A) ⊙ dA: dȦ = L̃(dB K + B(dPᵀP + PᵀdP) − dA),
    dḂ = −L̃(σ̇(A) ⊙ [dP BᵀB + P dBᵀB + P BᵀdB] − dB).

    Parameters
    ----------
    A, B : ndarray or torch.Tensor, shape (w, N)
    dA, dB : ndarray or torch.Tensor, shape (..., w, N)
        Tangents (A and B broadcast against a batch of them).
    leak : float

    Returns
    -------
    (dȦ, dḂ) : tuple of arrays, shape (..., w, N)
    """
    post, slope = _sigma("relu")(A), A > 0
    moved, T = slope * dA, _transpose
    velocity = leak * (dB @ T(post) @ post + B @ (T(moved) @ post + T(post) @ moved) - dA)
    costate = -leak * (slope * (moved @ T(B) @ B + post @ T(dB) @ B + post @ T(B) @ dB) - dB)
    return velocity, costate


def _rk4(field: Callable, state: tuple, h: float, steps: int) -> list[tuple]:
    """``steps`` classical Runge–Kutta steps of length h of d(state)/dp = field(*state) (a tuple of
    arrays); all the states, the start included."""
    states = [state]
    for _ in range(steps):
        k1 = field(*state)
        k2 = field(*(y + h / 2 * k for y, k in zip(state, k1, strict=True)))
        k3 = field(*(y + h / 2 * k for y, k in zip(state, k2, strict=True)))
        k4 = field(*(y + h * k for y, k in zip(state, k3, strict=True)))
        state = tuple(y + h / 6 * (a + 2 * b + 2 * c + d) for y, a, b, c, d in zip(state, k1, k2, k3, k4,
                                                                                      strict=True))
        states.append(state)
    return states


def _costates(path: NDArray[np.float64], leak: float) -> NDArray[np.float64]:
    """The costate of each step of a path with uniform steps: B_k = (V_k + L̃A_k)K_k⁺/L̃ (the momentum
    ∂ℒ/∂V of the step's velocity V_k = (A_{k+1} − A_k)·steps; least-norm where K_k is singular)."""
    steps = path.shape[0] - 1
    post = np.maximum(path[:-1], 0.0)
    moved = (path[1:] - path[:-1]) * steps + leak * path[:-1]
    return moved @ np.linalg.pinv(post.transpose(0, 2, 1) @ post) / leak


def _multiple_shooting(begin: Matrix, end: Matrix, leak: float, nodes: Matrix, momenta: Matrix, steps: int,
                       iterations: int) -> tuple[Matrix, float]:
    """Newton's method on the multiple-shooting equations of the geodesic from ``begin`` to ``end``:
    p ∈ [0, 1] cut into len(nodes) equal segments, each integrated by ``steps``/segments classical
    Runge–Kutta steps from its own start (A_j, B_j) (A_0 = begin fixed; guesses ``nodes``,
    ``momenta`` (segments, w, N)); unknowns B_0 and (A_j, B_j)_{j>=1}, equations: every joint's
    mismatch and A(1) − end. The block-bidiagonal Jacobian is exact (the variational equations,
    ``hamilton_tangent``, integrated by the same Runge–Kutta steps) and solved sparse; steps are
    halved until ‖mismatch‖ decreases. Returns B_0 and the largest mismatch left."""
    from scipy import sparse
    from scipy.sparse.linalg import spsolve

    segments, shape, size = len(nodes), begin.shape, begin.size
    inner, h = steps // segments, 1.0 / steps

    def hamilton(A: torch.Tensor, B: torch.Tensor) -> tuple:
        return hamilton_field(A, B, leak)

    def variational(A: torch.Tensor, B: torch.Tensor, dA: torch.Tensor, dB: torch.Tensor) -> tuple:
        return (*hamilton_field(A, B, leak), *hamilton_tangent(A[:, None], B[:, None], dA, dB, leak))

    def split(rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:  # (…, 2·size) -> A, B
        lead = rows.shape[:-1]
        return rows[..., :size].reshape(*lead, *shape), rows[..., size:].reshape(*lead, *shape)

    def starts(x: NDArray) -> torch.Tensor:  # unknowns [B_0, (A_1, B_1), …] -> (segments, 2·size)
        first = torch.cat([torch.from_numpy(begin.ravel()), torch.from_numpy(x[:size])])
        return torch.cat([first[None], torch.from_numpy(x[size:]).reshape(segments - 1, 2 * size)])

    def residual(x: NDArray) -> NDArray:
        begins = starts(x)
        A, B = _rk4(hamilton, split(begins), h, inner)[-1]
        ends = torch.cat([A.flatten(1), B.flatten(1)], dim=1)
        missed = ends[-1, :size] - torch.from_numpy(end.ravel())
        return torch.cat([(ends[:-1] - begins[1:]).reshape(-1), missed]).numpy()

    def jacobian(x: NDArray) -> sparse.csc_matrix:
        """Row j: ∂end_j/∂start_j (only ∂/∂B_0 for j = 0, only the A rows for the last), −I at start_{j+1}."""
        tangents = split(torch.eye(2 * size, dtype=torch.float64).expand(segments, -1, -1))
        *_, dA, dB = _rk4(variational, (*split(starts(x)), *tangents), h, inner)[-1]
        blocks = torch.cat([dA.flatten(2), dB.flatten(2)], dim=2).transpose(1, 2).numpy()
        grid = [[None] * segments for _ in range(segments)]
        for j in range(segments):
            block = blocks[j][:, size:] if j == 0 else blocks[j]
            grid[j][j] = sparse.csr_matrix(block if j < segments - 1 else block[:size])
            if j < segments - 1:
                grid[j][j + 1] = -sparse.eye(2 * size)
        return sparse.bmat(grid, format="csc")

    x = np.concatenate([momenta[0].ravel(), *[np.concatenate([a.ravel(), b.ravel()])
                                              for a, b in zip(nodes[1:], momenta[1:], strict=True)]])
    mismatch = residual(x)
    for _ in range(iterations):
        direction = spsolve(jacobian(x), -mismatch)
        if not np.all(np.isfinite(direction)):
            break
        norm = np.linalg.norm(mismatch)
        for scale in 0.5 ** np.arange(20):
            trial = residual(x + scale * direction)
            if np.linalg.norm(trial) < (1 - 1e-4 * scale) * norm:
                break
        else:  # no decrease along Newton's direction: as close as this discretization gets
            break
        x, mismatch = x + scale * direction, trial
        if np.max(np.abs(mismatch)) < 1e-12:
            break
    return x[:size].reshape(shape), float(np.max(np.abs(mismatch)))


def solve_geodesic_bvp(A0: ArrayLike, A1: ArrayLike, leak: float, *, start: ArrayLike | None = None,
                       segments: int = 8, steps: int = 400, rtol: float = 1e-10, tol: float = 1e-8,
                       iterations: int = 30) -> Shot:
    """The geodesic from A0 to A1 as a boundary-value problem on Hamilton's equations, in two phases.

    (1) Multiple shooting (``segments`` pieces, ``steps`` Runge–Kutta steps in all, Newton with
    exact Jacobians) finds the initial costate B0 from a rough guess: single shooting would amplify
    an error in B0 by the flow's growth over all of [0, 1] (≈ e^5 on leaky.action's hardest draw),
    a segment only by its share. (2) Polish: B0 solving A(1; A0, B0) = A1 for scipy's adaptive
    DOP853 (it resolves the ReLU kinks where σ̇ jumps, which fixed Runge–Kutta steps do only to
    O(h)), by least squares from phase 1's B0.

    Parameters
    ----------
    A0, A1 : array_like, shape (w, N)
    leak : float
        L̃ > 0.
    start : array_like, shape (n·segments + 1, w, N), optional
        A path with uniform steps guessing the geodesic (e.g. a trained network's representations):
        its nodes at p_j = j/segments give A_j, its steps' momenta (V + L̃A)K⁺/L̃ give B_j. Default:
        a ``solve_geodesic`` path of 8 steps (or the next multiple of ``segments``).
    segments : int, default 8
    steps : int, default 400
        A multiple of ``segments``; the solution is returned at steps + 1 depths.
    rtol : float, default 1e-10
    tol : float, default 1e-8
        Largest entry of the polished end's miss of A1.
    iterations : int, default 30
        Newton iterations of phase 1.

    Returns
    -------
    Shot

    Raises
    ------
    ValueError
        Naming the argument: shapes that differ, ``steps`` not a multiple of ``segments``, a
        ``start`` of the wrong shape.
    NotConvergedError
        When phase 1 stalls above 10⁻⁴ or the polished end misses A1 by more than ``tol``.
    """
    from scipy.optimize import least_squares

    begin, end = as_matrix(A0, "A0"), as_matrix(A1, "A1")
    if begin.shape != end.shape:
        raise ValueError(f"A0 and A1 must have the same shape, got {begin.shape} and {end.shape}")
    leak = nonnegative_float(leak, "leak", positive=True)
    segments, steps = positive_int(segments, "segments"), positive_int(steps, "steps")
    if steps % segments:
        raise ValueError(f"steps must be a multiple of segments, got steps={steps}, segments={segments}")
    if start is None:
        start = solve_geodesic(begin, end, leak, segments * max(1, 8 // segments), gamma=0.0,
                               iterations=20000, grad_tol=1e-4).path
    guess = np.asarray(as_array(start), dtype=np.float64)
    if guess.ndim != 3 or guess.shape[1:] != begin.shape or (guess.shape[0] - 1) % segments:
        raise ValueError(f"start must be a path (n·segments + 1, {begin.shape[0]}, {begin.shape[1]}), got "
                         f"{guess.shape}")
    stride = (guess.shape[0] - 1) // segments
    nodes, momenta = guess[:-1:stride], _costates(guess, leak)[::stride]
    costate, stalled = _multiple_shooting(begin, end, leak, nodes, momenta, steps,
                                          positive_int(iterations, "iterations"))
    if not stalled <= 1e-4:
        raise NotConvergedError(f"solve_geodesic_bvp: multiple shooting ({segments} segments) stalls with "
                                f"the joints and the end missing by {stalled:.2e}")

    def miss(flat: NDArray) -> NDArray:
        return (shoot(begin, flat.reshape(begin.shape), leak, rtol=rtol, samples=2).A[-1] - end).ravel()

    fit = least_squares(miss, costate.ravel(), xtol=1e-15, ftol=1e-15, gtol=1e-15)
    error = float(np.max(np.abs(fit.fun)))
    if error > tol:
        raise NotConvergedError(f"solve_geodesic_bvp: the polished shot misses A1 by {error:.2e} (tolerance "
                                f"{tol:g}; multiple shooting left {stalled:.1e})")
    return shoot(begin, fit.x.reshape(begin.shape), leak, rtol=rtol, samples=steps + 1)


# ---------------------------------------------------------------------------------------------
# The discrete Leaky ResNet
# ---------------------------------------------------------------------------------------------


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
        Naming the argument: shapes that do not match, a ``cap`` outside (0, 1) or too small.
    """
    reps = np.asarray(as_array(path), dtype=np.float64)
    steps = np.asarray(as_array(rho), dtype=np.float64)
    if reps.ndim != 3 or steps.shape != (reps.shape[0] - 1,):
        raise ValueError(f"path must be (L + 1, w, N) and rho (L,), got {reps.shape} and {steps.shape}")
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
    """
    reps, steps = np.asarray(as_array(path), dtype=np.float64), np.asarray(as_array(rho), dtype=np.float64)
    total = 0.0
    for before, after, step in zip(reps[:-1], reps[1:], steps, strict=True):
        post = np.maximum(before, 0.0)
        moved = (after - before) / step + leak * before
        total += step * float(np.sum((moved @ np.linalg.pinv(post)) ** 2)) / (2 * leak)
    return total
