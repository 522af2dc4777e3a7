"""Compositional targets f* = h∘g drawn as the authors draw them: Matérn Gaussian-process samples.

A ``CompositionTask`` is one draw of f* = h∘g on a pool of points (Jacot, Choi, Wen, arXiv
2407.05664, and the authors' data-generation notebook): X standard Gaussian in ℝ^{d_in}; g: ℝ^{d_in}
→ ℝ^{d_mid} with d_mid independent Matérn-ν_g process samples at X; h: ℝ^{d_mid} → ℝ^{d_out} with
d_out independent Matérn-ν_h process samples at Z = g(X); Y = h(Z). Samples are joint at the pool by a
Cholesky factor of the kernel matrix (plus a fixed jitter) in float64.

A draw does not depend on the pool's size: points and both processes have their own random streams,
the pool is laid out [test | validation | training], and the Cholesky factor of a leading block is
the leading block of the factor — so a larger pool only appends training points to the same draw.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special
from scipy.linalg import LinAlgError, cholesky
from scipy.spatial.distance import pdist, squareform

from rankcheck.validation import as_finite, as_matrix, as_seed, nonnegative_float, positive_int

__all__ = ["matern_kernel", "gaussian_process_sample", "CompositionTask", "composition_task"]


def _bessel_k(nu: float, x: NDArray[np.float64]) -> NDArray[np.float64]:
    """K_ν(x) for x > 0: closed form at half-integer ν, upward recurrence from K_0, K_1 at integer ν
    (both stable and several times faster than the general routine), scipy's ``kv`` otherwise."""
    if nu == int(nu) or nu - 0.5 == int(nu - 0.5):
        first = (special.k0(x), special.k1(x)) if nu == int(nu) else (
            np.sqrt(np.pi / (2 * x)) * np.exp(-x), np.sqrt(np.pi / (2 * x)) * np.exp(-x) * (1 + 1 / x))
        order, (low, high) = nu - int(nu), first
        while order + 1 < nu:  # K_{μ+1} = K_{μ−1} + (2μ/x)·K_μ
            order += 1
            low, high = high, low + 2 * order / x * high
        return low if order == nu else high
    return special.kv(nu, x)


def matern_kernel(distances: ArrayLike, nu: float, lengthscale: float = 1.0) -> NDArray[np.float64]:
    """Matérn correlation k(r) = 2^{1−ν}/Γ(ν)·(√(2ν)·r/ℓ)^ν·K_ν(√(2ν)·r/ℓ), k(0) = 1, elementwise.

    ν = ½ gives e^{−r/ℓ}; Gaussian-process samples on ℝ^d have Sobolev smoothness ν (they lie in H^s
    for every s < ν, locally). K_ν by recurrence at integer and half-integer ν (``_bessel_k``).

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
    positive = np.where(scaled > 0, scaled, 1.0)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore", under="ignore"):
        values = 2 ** (1 - nu) / special.gamma(nu) * positive**nu * _bessel_k(nu, positive)
    # far out K_ν underflows to 0 and (√(2ν)r)^ν overflows, where k is 0 to double precision
    return np.where(scaled == 0, 1.0, np.nan_to_num(values, nan=0.0, posinf=0.0))


def gaussian_process_sample(points: ArrayLike, nu: float, rng: np.random.Generator, *, outputs: int = 1,
                            lengthscale: float = 1.0, jitter: float = 1e-6) -> NDArray[np.float64]:
    """Independent joint samples of the centred Matérn-ν process at the points, unit variance.

    Distances are root-mean-square over the coordinates, ‖x − x'‖/√d (the authors' convention: the
    length scale grows as √d). The samples are L·ξ with L the lower Cholesky
    factor of K + jitter·I and ξ standard normal of shape (n, outputs), so the first m rows are the
    sample at the first m points whatever n is.

    Parameters
    ----------
    points : array_like, shape (n, d)
    nu : float
        ν > 0.
    rng : numpy.random.Generator
        Draws ξ.
    outputs : int, default 1
        How many independent samples (columns).
    lengthscale : float, default 1
        ℓ > 0, in root-mean-square distance (the authors': 1).
    jitter : float, default 1e-6
        Added to the diagonal: the kernel of a smooth process at thousands of points is singular to
        double precision. It is white noise of variance ``jitter`` added to each sample.

    Returns
    -------
    ndarray, shape (n, outputs)

    Raises
    ------
    ValueError
        Naming the argument: bad points, ν, ``outputs`` or ``jitter``, or a jitter too small for the
        kernel to be factored.
    """
    P = as_matrix(points, "points")
    columns = positive_int(outputs, "outputs")
    K = squareform(matern_kernel(pdist(P) / np.sqrt(P.shape[1]), nu, lengthscale))  # the pairs once
    K[np.diag_indices_from(K)] = 1.0 + nonnegative_float(jitter, "jitter", positive=True)
    try:
        L = cholesky(K, lower=True, check_finite=False)
    except LinAlgError as error:
        raise ValueError(f"jitter {jitter:g} is too small to factor the Matérn-{nu:g} kernel at "
                         f"{P.shape[0]} points; raise it") from error
    return L @ rng.standard_normal((P.shape[0], columns))


@dataclass(frozen=True)
class CompositionTask:
    """One draw of f* = h∘g on a pool of points, laid out as [test | validation | training].

    Attributes
    ----------
    inputs : ndarray, shape (n, d_in)
        X, standard Gaussian.
    hidden : ndarray, shape (n, d_mid)
        Z = g(X).
    outputs : ndarray, shape (n, d_out)
        Y = h(Z) = f*(X), noiseless.
    validation, test : int
        Sizes of the two blocks at the start of the pool.
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
        Y : ndarray, shape (n, d_out)

        Raises
        ------
        ValueError
            When ``n`` is not in [1, training points].
        """
        start = self.test + self.validation
        available = self.inputs.shape[0] - start
        if not 1 <= n <= available:
            raise ValueError(f"n must be in [1, {available}] for this pool, got {n}")
        return self.inputs[start:start + n], self.outputs[start:start + n]

    def block(self, which: str) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """The validation or the test block.

        Parameters
        ----------
        which : {"validation", "test"}

        Returns
        -------
        X : ndarray, shape (size, d_in)
        Y : ndarray, shape (size, d_out)

        Raises
        ------
        ValueError
            For another name.
        """
        rows = {"test": slice(0, self.test), "validation": slice(self.test, self.test + self.validation)}
        if which not in rows:
            raise ValueError(f"which must be 'validation' or 'test', got {which!r}")
        return self.inputs[rows[which]], self.outputs[rows[which]]


def composition_task(d_in: int, d_mid: int, d_out: int, nu_g: float, nu_h: float, n_train: int, *,
                     validation: int = 512, test: int = 1024, seed: int = 0, lengthscale: float = 1.0,
                     jitter: float = 1e-6) -> CompositionTask:
    """A draw of f* = h∘g, g and h Matérn Gaussian-process samples, at test + validation + n_train points.

    X ~ N(0, I_{d_in}); Z = g(X): d_mid samples of the Matérn-``nu_g`` process at X; Y = h(Z): d_out
    samples of the Matérn-``nu_h`` process at Z (``gaussian_process_sample``). X, g and h draw from
    three streams spawned from ``seed``, so the draw at the first m points of the pool is the same for
    every pool that holds them (up to round-off in the Cholesky factor).

    Parameters
    ----------
    d_in, d_mid, d_out : int
    nu_g, nu_h : float
        Smoothness of g and of h, > 0.
    n_train : int
    validation : int, default 512
    test : int, default 1024
    seed : int, default 0
    lengthscale, jitter : float, default 1, 1e-6
        Of both processes; see ``gaussian_process_sample``.

    Returns
    -------
    CompositionTask

    Raises
    ------
    ValueError
        Naming the argument: non-positive sizes or smoothness, a bad seed.
    """
    dims = [positive_int(v, name) for v, name in ((d_in, "d_in"), (d_mid, "d_mid"), (d_out, "d_out"))]
    sizes = [positive_int(v, name) for v, name in ((test, "test"), (validation, "validation"),
                                                   (n_train, "n_train"))]
    nus = [nonnegative_float(v, name, positive=True) for v, name in ((nu_g, "nu_g"), (nu_h, "nu_h"))]
    points, inner, outer = (np.random.default_rng(s)
                            for s in np.random.SeedSequence(as_seed(seed)).spawn(3))
    X = points.standard_normal((sum(sizes), dims[0]))
    Z = gaussian_process_sample(X, nus[0], inner, outputs=dims[1], lengthscale=lengthscale, jitter=jitter)
    Y = gaussian_process_sample(Z, nus[1], outer, outputs=dims[2], lengthscale=lengthscale, jitter=jitter)
    return CompositionTask(inputs=X, hidden=Z, outputs=Y, validation=sizes[1], test=sizes[0])
