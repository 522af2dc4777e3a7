"""Covariances of L2-regularized MLPs and the covariance form of their loss.

Source: Jacot, Golikov, Hongler, Gabriel, "Feature learning in L2-regularized DNNs: attraction/
repulsion and sparsity", NeurIPS 2022, arXiv 2205.15809. Conventions in ``rankcheck.numerics.cone``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from numpy.typing import ArrayLike, NDArray

from rankcheck.numerics.networks import MODULES
from rankcheck.validation import as_matrix, nonnegative_float

__all__ = [
    "Activation", "ACTIVATIONS", "activation_function", "NetworkCovariances", "activations",
    "layer_inputs", "layer_covariances", "parameter_norm", "least_norm_weights", "least_norm_cost",
    "least_norm_uncertainty", "activation_loss", "covariance_loss"
]

Activation = Callable[[NDArray[np.float64]], NDArray[np.float64]]


#: The positively homogeneous activations the cone accepts, by name.
ACTIVATIONS: dict[str, Activation] = {
    "relu": lambda z: np.maximum(z, 0.0),
    "identity": lambda z: z,
    "abs": np.abs,
}


_MODULES = {kind: name for name, kind in MODULES.items()}


def _rank_cut(shape: tuple[int, ...], largest: float) -> float:
    """The numerical-rank threshold used throughout: max(shape)·ε·(largest singular value)."""
    return max(shape) * np.finfo(float).eps * largest


def activation_function(name: str) -> Activation:
    """The numpy function of a positively homogeneous activation.

    Parameters
    ----------
    name : {"relu", "identity", "abs"}

    Returns
    -------
    callable
        Elementwise on ndarrays.

    Raises
    ------
    ValueError
        For any other name: the cone needs σ(cz) = c·σ(z) for c > 0.
    """
    if name not in ACTIVATIONS:
        raise ValueError(
            f"activation must be one of {sorted(ACTIVATIONS)} (the cone needs a positively "
            f"homogeneous σ, σ(cz) = c·σ(z) for c > 0), got {name!r}")
    return ACTIVATIONS[name]


@dataclass(frozen=True)
class NetworkCovariances:
    """The covariances of an MLP on N points (all N×N).

    Attributes
    ----------
    inputs : list of ndarray, shapes (N, N)
        The covariance seen by linear layer ℓ + 1: K_0 = XXᵀ, then K_ℓ = σ(Z̃_ℓ)ᵀσ(Z̃_ℓ), each + 11ᵀ
        when that layer has a bias.
    pre : list of ndarray, shapes (N, N)
        K̃_{ℓ+1} = Z̃ᵀZ̃ of each linear layer's output (the last is the network's output covariance).
    post : list of ndarray, shapes (N, N)
        K_{ℓ+1} of hidden layer ℓ + 1, without the bias row.
    outputs : ndarray, shape (N, d_out)
        f(X).
    """

    inputs: list[NDArray[np.float64]]
    pre: list[NDArray[np.float64]]
    post: list[NDArray[np.float64]]
    outputs: NDArray[np.float64]


def _layers(net: torch.nn.Module) -> tuple[list[torch.nn.Linear], str]:
    """The linear layers of an MLP (Linear, activation, Linear, …, Linear) and its activation name."""
    if not isinstance(net, torch.nn.Sequential):
        raise ValueError(f"net must be a torch.nn.Sequential MLP, got {type(net).__name__}")
    modules = list(net)
    linears, names = modules[0::2], {type(m) for m in modules[1::2]}
    if not modules or not all(isinstance(m, torch.nn.Linear) for m in linears) or len(modules) % 2 == 0:
        raise ValueError("net must alternate torch.nn.Linear and activation modules, starting and "
                         "ending with a Linear")
    unknown = names - set(_MODULES)
    if unknown or len(names) > 1:
        raise ValueError(f"net's activations must all be one of {[m.__name__ for m in _MODULES]} (the "
                         f"cone needs positive homogeneity), got {[m.__name__ for m in names]}")
    return linears, _MODULES[names.pop()] if names else "identity"


def activations(net: torch.nn.Module, X: ArrayLike) -> tuple[list[NDArray], list[NDArray]]:
    """Pre- and post-activations of every linear layer of an MLP on the rows of X.

    Parameters
    ----------
    net : torch.nn.Module
        An MLP of ``torch.nn.Linear`` layers and one positively homogeneous activation.
    X : array_like, shape (N, d)
        One data point per row.

    Returns
    -------
    pre : list of ndarray, shapes (w_ℓ, N)
        Z̃_ℓ, one row per neuron; the last is the output.
    post : list of ndarray, shapes (w_ℓ, N)
        Z_ℓ = σ(Z̃_ℓ), with Z_0 = Xᵀ.

    Raises
    ------
    ValueError
        When ``net`` is not such an MLP or X has the wrong number of columns.
    """
    linears, name = _layers(net)
    points = as_matrix(X, "X")
    if points.shape[1] != linears[0].in_features:
        raise ValueError(f"X must have {linears[0].in_features} columns, got {points.shape[1]}")
    sigma = activation_function(name)
    post, pre = [points.T], []
    for k, layer in enumerate(linears):
        weight = layer.weight.detach().double().numpy()
        bias = 0.0 if layer.bias is None else layer.bias.detach().double().numpy()[:, None]
        pre.append(weight @ post[-1] + bias)
        if k < len(linears) - 1:
            post.append(sigma(pre[-1]))
    return pre, post


def _append_ones(z: NDArray) -> NDArray:
    """Z (w, N) stacked with a row of ones: the input a bias acts on."""
    return np.vstack([z, np.ones((1, z.shape[1]))])


def _with_bias_rows(net: torch.nn.Module, post: list[NDArray]) -> list[NDArray]:
    """Each layer's input Z_{ℓ−1}, stacked with a row of ones when that layer has a bias."""
    linears, _ = _layers(net)
    return [z if layer.bias is None else _append_ones(z) for z, layer in zip(post, linears, strict=True)]


def layer_inputs(net: torch.nn.Module, X: ArrayLike) -> tuple[list[NDArray], list[NDArray]]:
    """Every linear layer's pre-activations and input (with a row of ones when it has a bias).

    Parameters
    ----------
    net : torch.nn.Module
        An MLP of ``torch.nn.Linear`` layers and one positively homogeneous activation.
    X : array_like, shape (N, d)
        One data point per row.

    Returns
    -------
    pre : list of ndarray, shapes (w_ℓ, N)
    inputs : list of ndarray, shapes (w_{ℓ−1} [+1], N)

    Raises
    ------
    ValueError
        As ``activations``.
    """
    pre, post = activations(net, X)
    return pre, _with_bias_rows(net, post)


def layer_covariances(net: torch.nn.Module, X: ArrayLike) -> NetworkCovariances:
    """The pairs (K̃_ℓ, K_ℓ) of a torch MLP on data X.

    Parameters
    ----------
    net : torch.nn.Module
        An MLP of ``torch.nn.Linear`` layers and one positively homogeneous activation.
    X : array_like, shape (N, d)
        One data point per row.

    Returns
    -------
    NetworkCovariances

    Raises
    ------
    ValueError
        As ``activations``.
    """
    pre, post = activations(net, X)
    return NetworkCovariances(inputs=[z.T @ z for z in _with_bias_rows(net, post)],
                              pre=[z.T @ z for z in pre], post=[z.T @ z for z in post[1:]],
                              outputs=pre[-1].T.copy())


def parameter_norm(net: torch.nn.Module) -> float:
    """‖θ‖² = Σ_ℓ ‖W_ℓ‖_F² + ‖b_ℓ‖² over every parameter of ``net``.

    Parameters
    ----------
    net : torch.nn.Module

    Returns
    -------
    float
    """
    return float(sum(torch.sum(p.detach().double() ** 2) for p in net.parameters()))


def least_norm_weights(pre: list[NDArray], inputs: list[NDArray]) -> list[NDArray]:
    """W_ℓ = Z̃_ℓ Z_{ℓ−1}⁺: the least-norm weights that reproduce every layer's pre-activations.

    Solved by ``np.linalg.lstsq`` (SVD applied to the right-hand side, which keeps the residual at
    round-off even when the activations are nearly rank-deficient; forming Z⁺ explicitly does not).

    Parameters
    ----------
    pre : list of ndarray, shapes (w_ℓ, N)
        Pre-activations Z̃_ℓ of every linear layer (``layer_inputs``).
    inputs : list of ndarray, shapes (w_{ℓ−1} [+1], N)
        Their inputs Z_{ℓ−1}, with a row of ones for a layer with a bias.

    Returns
    -------
    list of ndarray, shapes (w_ℓ, w_{ℓ−1} [+1])
    """
    return [np.linalg.lstsq(source.T, target.T, rcond=None)[0].T
            for target, source in zip(pre, inputs, strict=True)]


def least_norm_cost(pre: list[NDArray], inputs: list[NDArray]) -> float:
    """Σ_ℓ ‖Z̃_ℓ Z_{ℓ−1}⁺‖_F², the norm of ``least_norm_weights``.

    Parameters
    ----------
    pre : list of ndarray, shapes (w_ℓ, N)
        Pre-activations Z̃_ℓ of every linear layer (``layer_inputs``).
    inputs : list of ndarray, shapes (w_{ℓ−1} [+1], N)
        Their inputs Z_{ℓ−1}, with a row of ones for a layer with a bias.

    Returns
    -------
    float
    """
    return float(sum(np.sum(W**2) for W in least_norm_weights(pre, inputs)))


def least_norm_uncertainty(pre: list[NDArray], inputs: list[NDArray]) -> float:
    """The float64 uncertainty of ``least_norm_cost``.

    Σ_ℓ 2‖W_ℓ‖δ_ℓ + δ_ℓ² with δ_ℓ = max(shape)·ε·(‖Z̃_ℓ‖ + ‖W_ℓ‖‖Z_{ℓ−1}‖)/s_min, s_min the smallest
    singular value of Z_{ℓ−1} above the numerical rank cut (first-order perturbation of the
    least-norm solution of a consistent system). Activations of trained networks nearly collapse
    (s_min down to 1e-13 of the largest), and there the least-norm cost is only determined to this
    accuracy.

    Parameters
    ----------
    pre : list of ndarray, shapes (w_ℓ, N)
        Pre-activations Z̃_ℓ of every linear layer (``layer_inputs``).
    inputs : list of ndarray, shapes (w_{ℓ−1} [+1], N)
        Their inputs Z_{ℓ−1}, with a row of ones for a layer with a bias.

    Returns
    -------
    float
    """
    total = 0.0
    for W, target, source in zip(least_norm_weights(pre, inputs), pre, inputs, strict=True):
        s = np.linalg.svd(source, compute_uv=False)
        kept = s[s > _rank_cut(source.shape, s[0])] if s.size and s[0] > 0 else s[:0]
        if not kept.size:
            continue
        norm = np.linalg.norm(W)
        scale = np.linalg.norm(target) + norm * np.linalg.norm(source)
        delta = max(source.shape) * np.finfo(float).eps * scale / kept[-1]
        total += 2 * norm * delta + delta**2
    return float(total)


def _fit(outputs: NDArray, Y: ArrayLike) -> float:
    targets = as_matrix(Y, "Y")
    if targets.shape != outputs.shape:
        raise ValueError(f"Y must have shape {outputs.shape}, got {targets.shape}")
    return float(np.mean(np.sum((outputs - targets) ** 2, axis=1)))


def activation_loss(net: torch.nn.Module, X: ArrayLike, Y: ArrayLike, lam: float) -> float:
    """The loss as a function of the network's activations on X, L(θ) at least-norm weights.

    (1/N)·‖Z̃_L − Y‖² + λ·Σ_ℓ ‖Z̃_ℓ Z_{ℓ−1}⁺‖².

    Parameters
    ----------
    net : torch.nn.Module
        An MLP of ``torch.nn.Linear`` layers and one positively homogeneous activation.
    X : array_like, shape (N, d)
        One data point per row.
    Y : array_like, shape (N, d_out)
    lam : float
        λ >= 0.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        Naming the argument: as ``activations``, or a negative λ.
    """
    lam = nonnegative_float(lam, "lam")
    pre, inputs = layer_inputs(net, X)
    return _fit(pre[-1].T, Y) + lam * least_norm_cost(pre, inputs)


def covariance_loss(covariances: NetworkCovariances, Y: ArrayLike, lam: float,
                    rtol: float = 1e-12) -> float:
    """The same loss from the covariances alone: (1/N)·‖Z̃_L − Y‖² + λ·Σ_ℓ Tr[K̃_ℓ K_{ℓ−1}⁺].

    Tr[K⁺K̃] comes from the least-squares solution of K·M = K̃ with singular values of K below
    rtol·λ_max dropped: K squares the condition number of the activations, so directions with
    singular value below ~√rtol of the largest are lost (prefer ``activation_loss`` for trained
    networks, whose representations nearly collapse).

    Parameters
    ----------
    covariances : NetworkCovariances
    Y : array_like, shape (N, d_out)
    lam : float
        λ >= 0.
    rtol : float, default 1e-12

    Returns
    -------
    float

    Raises
    ------
    ValueError
        Naming the argument: a negative λ, a Y of the wrong shape.
    """
    lam = nonnegative_float(lam, "lam")
    cost = sum(float(np.trace(np.linalg.lstsq(k, p, rcond=rtol)[0]))
               for p, k in zip(covariances.pre, covariances.inputs, strict=True))
    return _fit(covariances.outputs, Y) + lam * cost
