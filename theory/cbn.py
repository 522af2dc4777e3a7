"""Linear circular CNNs: the DFT block-diagonalization and the per-frequency representation cost.

Source: Wen, Jacot, "Which frequencies do CNNs need? Emergent bottleneck structure in feature
learning", arXiv 2402.08010. A layer of a linear circular CNN on length-n signals
with C channels and full-size filters w (C_out, C_in, n) computes z'_o[t] = Σ_i Σ_s w_oi[s]·z_i[t − s]
(indices mod n). ``circulant_diagonalization`` derives with sympy, for a symbolic filter of small n,
that the DFT F (F_ωt = e^{−2πi ωt/n}) diagonalizes the circulant matrix of every filter:
F·Circ(w)·F⁻¹ = diag(ŵ). Hence every layer is, frequency by frequency, a C_out×C_in matrix
Â_ℓ(ω) = ŵ(ω), the network is Â(ω) = Â_L(ω)⋯Â_1(ω), and by Parseval
‖θ‖² = Σ_ℓ Σ_{o,i} ‖w_oi‖² = (1/n)·Σ_ω Σ_ℓ ‖Â_ℓ(ω)‖_F². The least ‖θ‖² for a given network is then the
DLN cost of every Â(ω) (``theory.dln``, reused; unitary invariance makes it hold for complex
matrices), scaled by 1/n:

    R(A; L) = (L/n)·Σ_ω Σ_i s_i(Â(ω))^{2/L} = (L/n)·Σ_ω ‖Â(ω)‖_{S_{2/L}}^{2/L},

and R/L → (1/n)·Σ_ω rank Â(ω): the linear CBN rank, the number of kept (frequency, channel)
pairs divided by n. With weight decay and the n·C impulses as inputs (the network's own filters as
outputs) the loss is, by Parseval again, (1/n)·Σ_ω [½‖Â(ω) − Â*(ω)‖_F² + λ·Σ_ℓ‖Â_ℓ(ω)‖_F²]: the DLN
regularized problem at every frequency, so each learned singular value solves the DLN scalar
problem at the target's singular value (``regularized_spectra``).
"""

from __future__ import annotations

import numpy as np
import sympy as sp
from numpy.typing import ArrayLike, NDArray

from rankcheck.theory import dln
from rankcheck.validation import nonnegative_float, positive_int

__all__ = [
    "zeta", "circulant_diagonalization", "parseval_identity", "frequency_matrices", "linear_cnn_cost",
    "cbn_rank", "regularized_spectra"
]

zeta = sp.Symbol("zeta")  # a primitive n-th root of unity, e^{−2πi/n}


def _reduce(expr: sp.Expr, n: int) -> sp.Expr:
    """``expr`` (a polynomial in ζ) modulo the n-th cyclotomic polynomial: the exact arithmetic of
    a primitive n-th root of unity (ζ^n = 1 and Σ_k ζ^{km} = 0 for m ≢ 0 mod n)."""
    return sp.rem(sp.expand(expr), sp.cyclotomic_poly(n, zeta), zeta)


def circulant_diagonalization(n: int) -> tuple[sp.Matrix, sp.Matrix]:
    """(F·Circ(w)·F⁻¹, diag(ŵ)) for a symbolic filter w_0 … w_{n−1}: the block-diagonalization.

    Entries reduced exactly in ζ = e^{−2πi/n} (F_ωt = ζ^{ωt}, F⁻¹_tω = ζ^{(n−1)ωt}/n); the two are
    equal entry by entry (tested).

    Parameters
    ----------
    n : int

    Returns
    -------
    tuple of two sympy.Matrix, n×n
    """
    n = positive_int(n, "n", minimum=2)
    w = sp.symbols(f"w0:{n}", real=True)
    circulant = sp.Matrix(n, n, lambda t, u: w[(t - u) % n])
    dft = sp.Matrix(n, n, lambda f, t: zeta ** (f * t))
    inverse = sp.Matrix(n, n, lambda t, f: zeta ** ((n - 1) * f * t)) / n
    spectrum = [sum(w[t] * zeta ** (f * t) for t in range(n)) for f in range(n)]
    product = (dft * circulant * inverse).applyfunc(lambda e: _reduce(e, n))
    return product, sp.diag(*[_reduce(c, n) for c in spectrum])


def parseval_identity(n: int) -> sp.Expr:
    """Σ_t w_t² − (1/n)·Σ_ω ŵ(ω)·conj(ŵ(ω)) for a symbolic real filter, reduced exactly: 0.

    Parseval, the 1/n of the per-frequency cost.

    Parameters
    ----------
    n : int

    Returns
    -------
    sympy.Expr
    """
    n = positive_int(n, "n", minimum=2)
    w = sp.symbols(f"w0:{n}", real=True)
    energy = sum(sum(w[t] * zeta ** (f * t) for t in range(n)) * sum(w[t] * zeta ** ((n - 1) * f * t)
                                                                     for t in range(n)) for f in range(n))
    return _reduce(sum(x**2 for x in w) - energy / n, n)


def frequency_matrices(filters: ArrayLike) -> NDArray[np.complex128]:
    """Â(ω): the DFT of multi-channel filters along the last axis, arranged frequency first.

    Parameters
    ----------
    filters : array_like, shape (C_out, C_in, n)

    Returns
    -------
    ndarray of complex128, shape (n, C_out, C_in)
    """
    array = np.asarray(filters, dtype=np.float64)
    if array.ndim != 3:
        raise ValueError(f"filters must have shape (C_out, C_in, n), got {array.shape}")
    return np.moveaxis(np.fft.fft(array, axis=-1), -1, 0)


def _spectra(filters: ArrayLike) -> NDArray[np.float64]:
    """Singular values of every Â(ω), shape (n, min(C_out, C_in))."""
    return np.linalg.svd(frequency_matrices(filters), compute_uv=False)


def linear_cnn_cost(filters: ArrayLike, depth: int) -> float:
    """R = (L/n)·Σ_ω Σ_i s_i(Â(ω))^{2/L}: the predicted cost of a linear circular CNN (Wen & Jacot,
    arXiv 2402.08010).

    Singular values below 1e-12·max count as 0 (s^{2/L} of round-off is not small).

    Parameters
    ----------
    filters : array_like, shape (C_out, C_in, n)
        The end-to-end filters.
    depth : int
        L >= 1.

    Returns
    -------
    float
    """
    depth = positive_int(depth, "depth")
    values = _spectra(filters)
    kept = values[values > 1e-12 * max(values.max(), 1e-300)]
    return float(depth * np.sum(kept ** (2.0 / depth)) / values.shape[0])


def cbn_rank(filters: ArrayLike, tol: float = 1e-8) -> float:
    """(1/n)·Σ_ω rank Â(ω), the limit of R/L.

    Parameters
    ----------
    filters : array_like, shape (C_out, C_in, n)
    tol : float, default 1e-8
        Singular values above ``tol``·max count.

    Returns
    -------
    float
    """
    values = _spectra(filters)
    return float(np.sum(values > nonnegative_float(tol, "tol") * values.max()) / values.shape[0])


def regularized_spectra(target_filters: ArrayLike, depth: int, lam: float,
                        minimum: str = "global") -> NDArray[np.float64]:
    """Predicted singular values of every learned Â(ω) of a depth-L linear CNN trained with weight decay.

    On ½Σ‖A − A*‖² + λ‖θ‖² (impulse inputs): per frequency the DLN scalar problem at the target's
    singular values, global minimizers or (``minimum="local"``) the non-zero local minima.

    Parameters
    ----------
    target_filters : array_like, shape (C_out, C_in, n)
    depth : int
    lam : float
        λ >= 0.
    minimum : {"global", "local"}, default "global"

    Returns
    -------
    ndarray, shape (n, min(C_out, C_in))
    """
    targets = _spectra(target_filters)
    flat = dln.regularized_minima(targets.ravel(), depth, lam, minimum)
    return flat.reshape(targets.shape)
