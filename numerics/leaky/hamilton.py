"""Hamilton's equations of Leaky ResNets (ReLU): the field, shooting, and the geodesic as a
boundary-value problem (multiple shooting, then an adaptive polish).

Source: Jacot, Kaiser, arXiv 2405.17573; A the representation, B its costate, both (w, N).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from numpy.typing import ArrayLike, NDArray

from rankcheck.errors import NotConvergedError
from rankcheck.numerics.leaky.geodesics import _sigma, solve_geodesic
from rankcheck.validation import as_array, as_matrix, nonnegative_float, positive_int

__all__ = [
    "hamilton_field", "hamiltonian", "Shot", "shoot", "hamilton_tangent",
    "solve_geodesic_bvp"
]

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
