"""Circular CNNs on length-n signals, trained with weight decay (torch, float64, L-BFGS).

Source: Wen, Jacot, arXiv 2402.08010. A layer has full-size filters w (C_out, C_in, n)
and computes z'_o[t] = Σ_i Σ_s w_oi[s]·z_i[t − s] (indices mod n), here by FFT; the trainers
minimize with gradients by hand on circulant matrices (``_cnn_objective``, 10× autograd through
the FFT). ``train_linear_cnn`` fits the network's end-to-end filters (its response to the C_0
unit impulses) to target filters A* by minimizing ½‖A − A*‖² + λ‖θ‖², the setting in which the
per-frequency cost is exact.
``train_relu_cnn`` fits a bias-free ReLU CNN f(x) = w_L ∗ σ(w_{L−1} ∗ ⋯ σ(w_1 ∗ x)) to signals.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch
from numpy.typing import ArrayLike, NDArray

from rankcheck.numerics.bottleneck import shallow_target
from rankcheck.numerics.optim import minimize_to_stationarity
from rankcheck.validation import as_finite, as_seed, nonnegative_float, positive_int

__all__ = [
    "CNNFit", "circular_conv", "end_to_end", "train_linear_cnn", "relu_cnn_hidden", "relu_cnn",
    "train_relu_cnn", "hidden_spectra", "frequency_ranks", "few_frequency_filters", "mean_target"
]


@dataclass(frozen=True)
class CNNFit:
    """Outcome of ``train_linear_cnn`` and ``train_relu_cnn``.

    Attributes
    ----------
    layers : list of ndarray
        w_ℓ of shape (C_ℓ, C_{ℓ−1}, n).
    outputs : ndarray
        On the C_0 unit impulses for a linear CNN (its end-to-end filters, (C_L, C_0, n)); on the
        data for a ReLU CNN ((N, C_L, n)).
    norm_sq : float
        ‖θ‖².
    gradient : float
        The largest gradient entry at the end.
    """

    layers: list[NDArray[np.float64]]
    outputs: NDArray[np.float64]
    norm_sq: float
    gradient: float


def circular_conv(filters: torch.Tensor, signals: torch.Tensor) -> torch.Tensor:
    """Circular convolution of signals by multi-channel filters (by FFT).

    Parameters
    ----------
    filters : torch.Tensor, shape (C_out, C_in, n)
    signals : torch.Tensor, shape (N, C_in, n)

    Returns
    -------
    torch.Tensor, shape (N, C_out, n)
    """
    spectrum = torch.einsum("oif,nif->nof", torch.fft.fft(filters), torch.fft.fft(signals))
    return torch.fft.ifft(spectrum).real


def end_to_end(layers: list[torch.Tensor]) -> torch.Tensor:
    """A linear CNN's end-to-end filters: its outputs on the C_0 unit impulses at t = 0.

    Parameters
    ----------
    layers : list of torch.Tensor
        w_ℓ of shape (C_ℓ, C_{ℓ−1}, n).

    Returns
    -------
    torch.Tensor, shape (C_L, C_0, n)
    """
    channels, n = layers[0].shape[1], layers[0].shape[2]
    signals = torch.zeros(channels, channels, n, dtype=layers[0].dtype)
    signals[torch.arange(channels), torch.arange(channels), 0] = 1.0
    for layer in layers:
        signals = circular_conv(layer, signals)
    return signals.transpose(0, 1)


def train_linear_cnn(target_filters: ArrayLike, depth: int, channels: int, lam: float, seed: int = 0,
                     rounds: int = 20, gradient_tol: float = 1e-6) -> CNNFit:
    """Train a linear circular CNN with weight decay on ½‖A − A*‖² + λ‖θ‖² by L-BFGS.

    Filters of full length n, initialized N(0, 1/(C_in·n)) per tap (seeded), trained until every
    gradient entry is <= ``gradient_tol`` (Wen & Jacot, arXiv 2402.08010).

    Parameters
    ----------
    target_filters : array_like, shape (C_out, C_in, n)
        A*.
    depth : int
    channels : int
        Hidden channels.
    lam : float
        λ >= 0.
    seed : int, default 0
    rounds : int, default 20
    gradient_tol : float, default 1e-6

    Returns
    -------
    CNNFit

    Raises
    ------
    ValueError
        Naming the argument: target filters of the wrong shape, a non-positive size, a negative λ.
    NotConvergedError
        When ``rounds`` do not reach ``gradient_tol``.
    """
    target = torch.from_numpy(as_finite(target_filters, "target_filters").copy())
    if target.ndim != 3:
        raise ValueError(f"target_filters must have shape (C_out, C_in, n), got {tuple(target.shape)}")
    depth, channels = positive_int(depth, "depth"), positive_int(channels, "channels")
    lam = nonnegative_float(lam, "lam")
    c_out, c_in, n = target.shape
    dims = [c_in] + [channels] * (depth - 1) + [c_out]
    layers = _initial_layers(dims, n, seed)

    impulses = np.zeros((c_in, c_in, n))
    impulses[np.arange(c_in), np.arange(c_in), 0] = 1.0
    gradient = _minimize(layers, impulses, target.numpy().transpose(1, 0, 2), lam, False, rounds,
                         gradient_tol, "train_linear_cnn")
    with torch.no_grad():
        return CNNFit([w.detach().numpy().copy() for w in layers], end_to_end(layers).numpy(),
                      float(sum((w**2).sum() for w in layers)), gradient)


def _initial_layers(dims: list[int], n: int, seed: int) -> list[torch.Tensor]:
    """Filters (dims[k+1], dims[k], n), N(0, 1/(C_in·n)) per tap (seeded), requiring gradients."""
    generator = torch.Generator().manual_seed(as_seed(seed))
    return [(torch.randn(dims[k + 1], dims[k], n, generator=generator, dtype=torch.float64)
             / np.sqrt(dims[k] * n)).requires_grad_(True) for k in range(len(dims) - 1)]


@lru_cache(maxsize=8)
def _taps(n: int) -> tuple[NDArray[np.intp], NDArray[np.float64]]:
    """(t − u) mod n for t, u < n, shape (n, n) — the tap that a circulant's entry (t, u) holds —
    and its one-hot (n², n) that folds a circulant's entries back onto taps; once per n."""
    shift = (np.arange(n)[:, None] - np.arange(n)[None, :]) % n
    return shift, np.eye(n)[shift.ravel()]


def _circulant(filters: NDArray[np.float64], shift: NDArray[np.intp]) -> NDArray[np.float64]:
    """The matrix (C_out·n, C_in·n) of a circular convolution by ``filters`` (C_out, C_in, n):
    entry ((o, t), (i, u)) is w_oi[t − u], so that z' = M z on signals flattened channel-major."""
    c_out, c_in, n = filters.shape
    return filters[:, :, shift].transpose(0, 2, 1, 3).reshape(c_out * n, c_in * n)


def _cnn_objective(layers: list[NDArray[np.float64]], inputs: NDArray[np.float64],
                  targets: NDArray[np.float64], lam: float,
                  relu: bool) -> tuple[float, list[NDArray[np.float64]]]:
    """½‖f(X) − Y‖² + λ‖θ‖² of a bias-free circular CNN and its gradient, by hand.

    One pass forward by circulant matrix products (``_circulant``) and one back (the ReLU's
    derivative taken as 0 at 0, as autograd does); the gradient of a circulant M folds back onto
    its filter by summing the entries of equal tap. Tested against autograd through the FFT
    convolution (``relu_cnn``, ``end_to_end``).

    Parameters
    ----------
    layers : list of ndarray
        w_ℓ of shape (C_ℓ, C_{ℓ−1}, n).
    inputs : ndarray, shape (N, C_0, n)
    targets : ndarray, shape (N, C_L, n)
    lam : float
    relu : bool
        ReLU between the layers, or a linear CNN.

    Returns
    -------
    value : float
    gradients : list of ndarray
        Shaped as ``layers``.
    """
    n = inputs.shape[-1]
    shift, fold = _taps(n)
    matrices = [_circulant(w, shift) for w in layers]
    signals = [inputs.reshape(len(inputs), -1)]
    for matrix in matrices[:-1]:
        hidden = signals[-1] @ matrix.T
        signals.append(np.maximum(hidden, 0.0) if relu else hidden)
    residual = signals[-1] @ matrices[-1].T - targets.reshape(len(targets), -1)
    value = 0.5 * float(np.vdot(residual, residual)) + lam * sum(float(np.vdot(w, w)) for w in layers)
    gradients: list[NDArray[np.float64]] = [np.empty(0)] * len(layers)
    delta = residual
    for k in range(len(layers) - 1, -1, -1):
        c_out, c_in, _ = layers[k].shape
        outer = (delta.T @ signals[k]).reshape(c_out, n, c_in, n).transpose(0, 2, 1, 3)
        taps = outer.reshape(c_out * c_in, n * n) @ fold
        gradients[k] = taps.reshape(c_out, c_in, n) + 2 * lam * layers[k]
        if k:
            delta = delta @ matrices[k]
            if relu:
                delta = delta * (signals[k] > 0)
    return value, gradients


def _minimize(layers: list[torch.Tensor], inputs: NDArray[np.float64], targets: NDArray[np.float64],
              lam: float, relu: bool, rounds: int, gradient_tol: float, name: str,
              plateau_rtol: float | None = None) -> float:
    """L-BFGS on ``_cnn_objective`` (gradients by hand, no autograd graph), in place on ``layers``;
    returns the largest gradient entry at the stop (``minimize_to_stationarity``)."""

    def objective() -> torch.Tensor:
        value, gradients = _cnn_objective([w.detach().numpy() for w in layers], inputs, targets, lam, relu)
        for w, g in zip(layers, gradients, strict=True):
            w.grad = torch.from_numpy(g)
        return torch.tensor(value, dtype=torch.float64)

    return minimize_to_stationarity(objective, layers, rounds, gradient_tol, name, plateau_rtol=plateau_rtol,
                                    backward=False)


def relu_cnn_hidden(layers: list[torch.Tensor], signals: torch.Tensor) -> list[torch.Tensor]:
    """The hidden representations z_ℓ = σ(w_ℓ ∗ z_{ℓ−1}), ℓ = 1 … L−1, of a ReLU CNN.

    Parameters
    ----------
    layers : list of torch.Tensor
    signals : torch.Tensor, shape (N, C_0, n)
        z_0.

    Returns
    -------
    list of torch.Tensor, shapes (N, C_ℓ, n)
    """
    hidden = []
    for layer in layers[:-1]:
        signals = torch.relu(circular_conv(layer, signals))
        hidden.append(signals)
    return hidden


def relu_cnn(layers: list[torch.Tensor], signals: torch.Tensor) -> torch.Tensor:
    """f(x) = w_L ∗ σ(w_{L−1} ∗ ⋯ σ(w_1 ∗ x)), σ = ReLU, bias-free.

    Parameters
    ----------
    layers : list of torch.Tensor
    signals : torch.Tensor, shape (N, C_0, n)

    Returns
    -------
    torch.Tensor, shape (N, C_L, n)
    """
    hidden = relu_cnn_hidden(layers, signals)
    return circular_conv(layers[-1], hidden[-1] if hidden else signals)


def train_relu_cnn(X: ArrayLike, Y: ArrayLike, depth: int, channels: int, lam: float, seed: int = 0,
                   rounds: int = 20, gradient_tol: float = 1e-6, plateau_rtol: float = 1e-10) -> CNNFit:
    """Train a bias-free ReLU circular CNN on ½‖f(X) − Y‖² + λ‖θ‖² by L-BFGS.

    Full-length filters initialized as in ``train_linear_cnn``; until every gradient entry is
    <= ``gradient_tol`` or a round lowers the objective by less than ``plateau_rtol`` relative
    (minima of ReLU networks sit on kinks, see
    ``rankcheck.numerics.optim.minimize_to_stationarity``).

    Parameters
    ----------
    X : array_like, shape (N, C_in, n)
    Y : array_like, shape (N, C_out, n)
    depth : int
    channels : int
    lam : float
    seed : int, default 0
    rounds : int, default 20
    gradient_tol : float, default 1e-6
    plateau_rtol : float, default 1e-10

    Returns
    -------
    CNNFit

    Raises
    ------
    ValueError
        Naming the argument: signals of the wrong shape or different N and n, a non-positive size,
        a negative λ.
    NotConvergedError
        After ``rounds`` rounds without meeting either rule.
    """
    inputs, targets = (torch.from_numpy(as_finite(a, name).copy()) for a, name in ((X, "X"), (Y, "Y")))
    if inputs.ndim != 3 or targets.ndim != 3 or inputs.shape[0] != targets.shape[0] \
            or inputs.shape[2] != targets.shape[2]:
        raise ValueError(f"X and Y must be signals (N, C, n) with the same N and n, got "
                         f"{tuple(inputs.shape)} and {tuple(targets.shape)}")
    depth, channels = positive_int(depth, "depth"), positive_int(channels, "channels")
    lam = nonnegative_float(lam, "lam")
    layers = _initial_layers([inputs.shape[1]] + [channels] * (depth - 1) + [targets.shape[1]],
                             inputs.shape[2], seed)

    gradient = _minimize(layers, inputs.numpy(), targets.numpy(), lam, True, rounds, gradient_tol,
                         "train_relu_cnn", plateau_rtol=nonnegative_float(plateau_rtol, "plateau_rtol"))
    with torch.no_grad():
        return CNNFit([w.detach().numpy().copy() for w in layers], relu_cnn(layers, inputs).numpy(),
                      float(sum((w**2).sum() for w in layers)), gradient)


def hidden_spectra(layers: list[ArrayLike], X: ArrayLike) -> NDArray[np.float64]:
    """Energy per frequency of every hidden representation of a ReLU CNN on signals X.

    E_ℓ(ω) = (1/n)·Σ_{i, c} |ẑ_{ℓ, i, c}(ω)|² for z_ℓ = σ(w_ℓ ∗ z_{ℓ−1}), ℓ = 1 … L−1, so that
    Σ_ω E_ℓ(ω) = ‖z_ℓ‖² (Parseval).

    Parameters
    ----------
    layers : list of array_like
    X : array_like, shape (N, C_0, n)

    Returns
    -------
    ndarray, shape (L − 1, n)

    Raises
    ------
    ValueError
        When X is not a signal array of shape (N, C, n).
    """
    signals = torch.from_numpy(as_finite(X, "X").copy())
    if signals.ndim != 3:
        raise ValueError(f"X must be signals of shape (N, C, n), got {tuple(signals.shape)}")
    filters = [torch.from_numpy(as_finite(layer, "layers")) for layer in layers]
    with torch.no_grad():
        return torch.stack([(torch.fft.fft(z).abs() ** 2).sum(dim=(0, 1)) / signals.shape[-1]
                            for z in relu_cnn_hidden(filters, signals)]).numpy()


def frequency_ranks(layer: ArrayLike, rtol: float) -> NDArray[np.int64]:
    """Numerical rank of ŵ(ω) (C_out × C_in) at every frequency ω = 0 … n−1.

    Singular values above ``rtol`` × the largest over all frequencies; their sum is the number of
    (frequency, channel) pairs the layer keeps.

    Parameters
    ----------
    layer : array_like, shape (C_out, C_in, n)
    rtol : float

    Returns
    -------
    ndarray of int64, shape (n,)
    """
    spectrum = np.moveaxis(np.fft.fft(as_finite(layer, "layer"), axis=-1), -1, 0)
    values = np.linalg.svd(spectrum, compute_uv=False)  # (n, min(C_out, C_in))
    return np.sum(values > nonnegative_float(rtol, "rtol", positive=True) * values.max(), axis=1)


def few_frequency_filters(channels: int, n: int, ranks: dict[int, int],
                          seed: int = 0) -> NDArray[np.float64]:
    """Real filters whose frequency matrices Â(ω) are random of given ranks at given frequencies.

    Rank ``ranks[ω]`` at the listed frequencies 0 <= ω <= n/2 (and their conjugates at n − ω), 0
    elsewhere: a target that keeps Σ rank (frequency, channel) pairs per conjugate class. Â(0) and
    Â(n/2) are real, as real filters require.

    Parameters
    ----------
    channels : int
    n : int
    ranks : dict of int to int
        Frequency -> rank <= channels.
    seed : int, default 0

    Returns
    -------
    ndarray, shape (channels, channels, n)

    Raises
    ------
    ValueError
        A frequency outside [0, n/2], a rank above ``channels``, a non-positive size.
    """
    channels, n = positive_int(channels, "channels"), positive_int(n, "n", minimum=2)
    rng = np.random.default_rng(as_seed(seed))
    spectrum = np.zeros((n, channels, channels), dtype=np.complex128)
    for omega, rank in ranks.items():
        if not 0 <= omega <= n // 2:
            raise ValueError(f"frequencies must lie in [0, n/2] = [0, {n // 2}], got {omega}")
        rank = positive_int(rank, "rank")
        if rank > channels:
            raise ValueError(f"rank at frequency {omega} must be <= channels = {channels}, got {rank}")
        imaginary = 0.0 if omega == 0 or 2 * omega == n else 1j
        left, right = (rng.normal(size=shape) + imaginary * rng.normal(size=shape)
                       for shape in ((channels, rank), (rank, channels)))
        spectrum[omega] = left @ right
        spectrum[(n - omega) % n] = spectrum[omega].conj()
    return np.fft.ifft(np.moveaxis(spectrum, 0, -1), axis=-1).real


def mean_target(X: ArrayLike, rank: int, outputs: int, seed: int = 0) -> NDArray[np.float64]:
    """Constant output signals Y[i, :, t] = A·relu(B x̄_i) of the channel means x̄_i.

    ``rankcheck.numerics.bottleneck.shallow_target`` (unit RMS) of the frequency-0 content
    x̂(0) = n·x̄ alone, of rank ``rank`` there, so a network needs ``rank`` (frequency, channel)
    pairs, all at frequency 0.

    Parameters
    ----------
    X : array_like, shape (N, C_in, n)
    rank : int
    outputs : int
    seed : int, default 0

    Returns
    -------
    ndarray, shape (N, outputs, n)

    Raises
    ------
    ValueError
        When X is not a signal array of shape (N, C, n).
    """
    signals = as_finite(X, "X")
    if signals.ndim != 3:
        raise ValueError(f"X must be signals of shape (N, C, n), got {signals.shape}")
    values = shallow_target(signals.mean(axis=2).T, rank, outputs, seed=seed)  # (outputs, N)
    return np.repeat(values.T[:, :, None], signals.shape[2], axis=2)
