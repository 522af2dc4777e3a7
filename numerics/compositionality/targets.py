"""Compositional targets f* = h∘g: Matérn processes, random Fourier series of given smoothness.

A ``CompositionTask`` is one draw of f* = h∘g on a fixed pool of points, with g the quotient map
of a rotation symmetry (block norms, smooth away from 0) or Matérn-ν_g process samples, and h a
random function of Sobolev smoothness ν_h (Jacot, Choi, Wen, arXiv 2407.05664).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special
from scipy.spatial.distance import cdist

from rankcheck.validation import as_finite, as_matrix, as_seed, nonnegative_float, positive_int

__all__ = [
    "matern_kernel", "gaussian_process_sample", "block_norms", "CompositionTask",
    "random_fourier_series", "composition_task"
]

def matern_kernel(distances: ArrayLike, nu: float, lengthscale: float = 1.0) -> NDArray[np.float64]:
    """Matérn correlation k(r) = 2^{1−ν}/Γ(ν)·(√(2ν)·r/ℓ)^ν·K_ν(√(2ν)·r/ℓ), k(0) = 1, elementwise.

    ν = ½ gives e^{−r/ℓ}; Gaussian-process samples on ℝ^d have Sobolev smoothness ν (they lie in H^s
    for every s < ν, locally).

    Parameters
    ----------
    distances : array_like, any shape
        r >= 0.
    nu : float
        ν > 0.
    lengthscale : float, default 1
        ℓ > 0.

    Returns
    -------
    ndarray, the shape of ``distances``

    Raises
    ------
    ValueError
        Naming the argument: negative or non-finite distances, non-positive ν or ℓ.
    """
    r = as_finite(distances, "distances", allow_empty=True)
    if np.any(r < 0) or not np.all(np.isfinite(r)):
        raise ValueError("distances must be finite and >= 0")
    nu = nonnegative_float(nu, "nu", positive=True)
    scaled = np.sqrt(2 * nu) * r / nonnegative_float(lengthscale, "lengthscale", positive=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        values = 2 ** (1 - nu) / special.gamma(nu) * scaled**nu * special.kv(nu, scaled)
    return np.where(scaled == 0, 1.0, values)


def gaussian_process_sample(points: ArrayLike, nu: float, rng: np.random.Generator, *,
                            jitter: float = 1e-8) -> NDArray[np.float64]:
    """One joint sample of the centred Matérn-ν process (unit length scale and variance) at the points.

    By a Cholesky factor of K + jitter·I.

    Parameters
    ----------
    points : array_like, shape (n, d)
    nu : float
    rng : numpy.random.Generator
    jitter : float, default 1e-8

    Returns
    -------
    ndarray, shape (n,)
    """
    P = as_matrix(points, "points")
    K = matern_kernel(cdist(P, P), nu) + jitter * np.eye(P.shape[0])
    return np.linalg.cholesky(K) @ rng.standard_normal(P.shape[0])


def block_norms(X: ArrayLike, blocks: int) -> NDArray[np.float64]:
    """g(x) = (‖x_(1)‖, …, ‖x_(k)‖) for x split into k equal consecutive blocks.

    The quotient map of the rotations of each block, ℝ^{d_in} → ℝ^k.

    Parameters
    ----------
    X : array_like, shape (n, d_in)
    blocks : int
        k, dividing d_in.

    Returns
    -------
    ndarray, shape (n, k)

    Raises
    ------
    ValueError
        When ``blocks`` does not divide d_in.
    """
    points = as_matrix(X, "X")
    k = positive_int(blocks, "blocks")
    if points.shape[1] % k:
        raise ValueError(f"blocks must divide the input dimension {points.shape[1]}, got {k}")
    return np.linalg.norm(points.reshape(points.shape[0], k, -1), axis=2)


@dataclass(frozen=True)
class CompositionTask:
    """One draw of f* = h∘g on a pool of points, laid out as [training | validation | test].

    Attributes
    ----------
    inputs : ndarray, shape (n, d_in)
        X uniform in [−1, 1]^{d_in}.
    hidden : ndarray, shape (n, d_mid)
        g(X), standardized per coordinate.
    outputs : ndarray, shape (n,)
        f*(X).
    validation, test : int
        Sizes of the two blocks at the end of the pool.
    """

    inputs: NDArray[np.float64]
    hidden: NDArray[np.float64]
    outputs: NDArray[np.float64]
    validation: int
    test: int

    def train(self, n: int) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """The first ``n`` training points (nested: a larger N keeps the smaller N's points).

        Parameters
        ----------
        n : int
            At most the pool's training points.

        Returns
        -------
        X : ndarray, shape (n, d_in)
        y : ndarray, shape (n,)

        Raises
        ------
        ValueError
            When ``n`` exceeds the training points.
        """
        available = self.inputs.shape[0] - self.validation - self.test
        if not 1 <= n <= available:
            raise ValueError(f"n must be in [1, {available}] for this pool, got {n}")
        return self.inputs[:n], self.outputs[:n]

    def block(self, which: str) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """The validation or the test block.

        Parameters
        ----------
        which : {"validation", "test"}

        Returns
        -------
        X : ndarray, shape (size, d_in)
        y : ndarray, shape (size,)

        Raises
        ------
        ValueError
            For another name.
        """
        end = self.inputs.shape[0]
        rows = {"test": slice(end - self.test, end),
                "validation": slice(end - self.test - self.validation, end - self.test)}
        if which not in rows:
            raise ValueError(f"which must be 'validation' or 'test', got {which!r}")
        return self.inputs[rows[which]], self.outputs[rows[which]]


def random_fourier_series(points: ArrayLike, nu: float, rng: np.random.Generator, *, period: float = 10.0,
                          knee: float = 1.0, terms: int = 8192) -> NDArray[np.float64]:
    """A random function of Sobolev smoothness ν: h(z) = Σ_k c_k·cos(ω_k·z + φ_k).

    ω_k = 2πk/``period`` over the integer vectors k with ‖k‖_∞ <= K whose first non-zero entry is
    positive (one of each ±k; ((2K + 1)^d − 1)/2 of them, (2K + 1)^d ≈ ``terms``), uniform phases
    φ_k, and fixed Matérn-like amplitudes c_k ∝ (1 + ‖ω_k‖²/knee²)^{−(ν + d/2)/2}, normalized so that
    Σ c_k²/2 = 1 (unit mean square). Σ ‖ω_k‖^{2s} c_k² < ∞ exactly when s < ν; with the amplitudes
    fixed, draws differ only in their phases, so every draw has the same spectrum.

    Parameters
    ----------
    points : array_like, shape (n, d)
    nu : float
        ν > 0.
    rng : numpy.random.Generator
        Draws the phases.
    period : float, default 10
    knee : float, default 1
    terms : int, default 8192

    Returns
    -------
    ndarray, shape (n,)
    """
    Z = as_matrix(points, "points")
    nu = nonnegative_float(nu, "nu", positive=True)
    d = Z.shape[1]
    K = max(1, int(round((positive_int(terms, "terms") ** (1 / d) - 1) / 2)))
    grid = np.stack(np.meshgrid(*[np.arange(-K, K + 1)] * d, indexing="ij"), axis=-1).reshape(-1, d)
    first = grid[np.arange(grid.shape[0]), np.argmax(grid != 0, axis=1)]
    grid = grid[first > 0]  # one of each pair ±k: distinct frequencies are orthogonal on a period
    omega = 2 * np.pi / nonnegative_float(period, "period", positive=True) * grid
    knee = nonnegative_float(knee, "knee", positive=True)
    amplitude = (1 + np.sum(omega**2, axis=1) / knee**2) ** (-(nu + d / 2) / 2)
    amplitude *= np.sqrt(2 / np.sum(amplitude**2))
    phases = rng.uniform(0.0, 2 * np.pi, size=amplitude.size)
    return np.cos(Z @ omega.T + phases) @ amplitude


def composition_task(d_in: int, d_mid: int, nu_h: float, n_train: int, *, nu_g: float | None = None,
                     validation: int = 512, test: int = 1024, seed: int = 0) -> CompositionTask:
    """A draw of f* = h∘g at n_train + validation + test points X uniform in [−1, 1]^{d_in}.

    g = ``block_norms(·, d_mid)`` (a symmetry quotient, smooth away from 0: ν_g = ∞) when ``nu_g``
    is None, else d_mid independent Matérn-``nu_g`` process samples on ℝ^{d_in}; g(X) is
    standardized per coordinate; h = ``random_fourier_series`` of smoothness ``nu_h`` on ℝ^{d_mid}.
    Deterministic in ``seed`` and the pool size: h's phases are drawn after the pool's points, so the
    same seed is another target at another pool size (notes/compositionality.md).

    Parameters
    ----------
    d_in, d_mid : int
    nu_h : float
    n_train : int
    nu_g : float, optional
    validation : int, default 512
    test : int, default 1024
    seed : int, default 0

    Returns
    -------
    CompositionTask

    Raises
    ------
    ValueError
        Naming the argument: non-positive sizes, ``d_mid`` not dividing ``d_in``
        when g is the block norm.
    """
    d_in, d_mid = positive_int(d_in, "d_in"), positive_int(d_mid, "d_mid")
    sizes = [positive_int(v, name) for v, name in ((n_train, "n_train"), (validation, "validation"),
                                                   (test, "test"))]
    rng = np.random.default_rng(as_seed(seed))
    X = rng.uniform(-1.0, 1.0, size=(sum(sizes), d_in))
    if nu_g is None:
        Z = block_norms(X, d_mid)
    else:
        Z = np.column_stack([gaussian_process_sample(X, nu_g, rng) for _ in range(d_mid)])
    Z = (Z - Z.mean(axis=0)) / Z.std(axis=0)
    return CompositionTask(inputs=X, hidden=Z, outputs=random_fourier_series(Z, nu_h, rng),
                           validation=sizes[1], test=sizes[2])
