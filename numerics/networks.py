"""Float64 torch MLPs shared by the families: the fully connected ReLU network, the accordion
network (a composition of shallow networks), and a staged minibatch Adam trainer with weight decay.

Data X is (N, d), one point per row (the torch convention). A network's cost is
‖θ‖² = Σ_ℓ ‖W_ℓ‖_F² + ‖b_ℓ‖² over every parameter, and the regularized loss is
L(θ) = (1/N)·‖f_θ(X) − Y‖_F² + λ·‖θ‖².
"""

from __future__ import annotations

import itertools

import numpy as np
import torch
from numpy.typing import ArrayLike

from rankcheck.numerics.optim import finite_loss
from rankcheck.validation import as_device, as_matrix, as_seed, nonnegative_float, positive_int

__all__ = ["MODULES", "mlp", "accordion", "regularized_loss", "Stage", "fit_stages"]

#: The torch activation modules by name.
MODULES: dict[str, type[torch.nn.Module]] = {"relu": torch.nn.ReLU, "identity": torch.nn.Identity}


def mlp(widths: list[int], *, bias: bool = True, output_bias: bool = False, activation: str = "relu",
        seed: int = 0, scale: float = 1.0) -> torch.nn.Sequential:
    """A float64 MLP with layer sizes [d_in, w_1, …, d_out] and He-like initialization.

    Parameters
    ----------
    widths : list of int
        At least the input and output sizes.
    bias : bool, default True
        Biases on the hidden layers.
    output_bias : bool, default False
    activation : str, default "relu"
        A name of ``MODULES``.
    seed : int, default 0
    scale : float, default 1
        Multiplies the initialization.

    Returns
    -------
    torch.nn.Sequential

    Raises
    ------
    ValueError
        Fewer than two widths, an unknown activation, a non-positive width.
    """
    sizes = [positive_int(w, "widths[i]") for w in widths]
    if len(sizes) < 2:
        raise ValueError(f"widths must list at least the input and output sizes, got {widths}")
    if activation not in MODULES:
        raise ValueError(f"activation must be one of {sorted(MODULES)} for a torch MLP, got {activation!r}")
    generator = torch.Generator().manual_seed(as_seed(seed))
    layers: list[torch.nn.Module] = []
    for k, (fan_in, fan_out) in enumerate(itertools.pairwise(sizes)):
        has_bias = bias if k < len(sizes) - 2 else output_bias
        layer = torch.nn.Linear(fan_in, fan_out, bias=has_bias, dtype=torch.float64)
        with torch.no_grad():
            layer.weight.copy_(scale * np.sqrt(2.0 / fan_in)
                               * torch.randn(fan_out, fan_in, generator=generator, dtype=torch.float64))
            if has_bias:
                layer.bias.copy_(0.1 * scale * torch.randn(fan_out, generator=generator, dtype=torch.float64))
        layers.append(layer)
        if k < len(sizes) - 2:
            layers.append(MODULES[activation]())
    return torch.nn.Sequential(*layers)


def accordion(sizes: list[int], hidden: int, *, seed: int = 0) -> torch.nn.Sequential:
    """An accordion network f = f_L ∘ … ∘ f_1 of shallow ReLU networks (Jacot, Choi, Wen, arXiv 2407.05664).

    f_ℓ(z) = W_ℓ σ(V_ℓ z + b_ℓ) + c_ℓ maps ℝ^{d_{ℓ−1}} → ℝ^{d_ℓ} with width ``hidden``: wide hidden
    layers alternate with narrow linear ones.

    Parameters
    ----------
    sizes : list of int
        [d_0, d_1, …, d_L], at least two.
    hidden : int
    seed : int, default 0

    Returns
    -------
    torch.nn.Sequential

    Raises
    ------
    ValueError
        Fewer than two sizes, a non-positive size.
    """
    outer = [positive_int(d, "sizes[i]") for d in sizes]
    if len(outer) < 2:
        raise ValueError(f"sizes must list at least the input and output sizes, got {sizes}")
    width = positive_int(hidden, "hidden")
    parts = [mlp([d_in, width, d_out], output_bias=True, seed=seed + k)
             for k, (d_in, d_out) in enumerate(itertools.pairwise(outer))]
    return torch.nn.Sequential(*itertools.chain.from_iterable(parts))


def regularized_loss(net: torch.nn.Module, X: torch.Tensor, Y: torch.Tensor, lam: float) -> torch.Tensor:
    """L(θ) = (1/N)‖f_θ(X) − Y‖_F² + λ‖θ‖².

    Parameters
    ----------
    net : torch.nn.Module
    X : torch.Tensor, shape (N, d)
    Y : torch.Tensor, shape (N, d_out)
    lam : float

    Returns
    -------
    torch.Tensor, scalar
    """
    fit = torch.sum((net(X) - Y) ** 2) / X.shape[0]
    return fit + lam * sum(torch.sum(p**2) for p in net.parameters())


#: One stage of ``fit_stages``: (epochs, learning rate, weight decay).
Stage = tuple[int, float, float]


def fit_stages(net: torch.nn.Module, X: ArrayLike, Y: ArrayLike, stages: list[Stage], *, batches: int = 5,
               seed: int = 0, device: str | torch.device = "cpu") -> float:
    """Train on the mean squared error by stages of minibatch Adam with weight decay, a fresh
    optimizer per stage.

    The schedule of Jacot, Choi, Wen's scaling-law experiments (arXiv 2407.05664, the authors'
    code): each epoch visits the data once in ``batches`` random minibatches; a stage's weight decay
    w adds w·θ to the gradient (torch's ``Adam(weight_decay=w)``, i.e. (w/2)‖θ‖² in the loss).
    Trains ``net`` in place on ``device`` and leaves it there.

    Parameters
    ----------
    net : torch.nn.Module
    X : array_like, shape (N, d)
    Y : array_like, shape (N, d_out)
    stages : list of (int, float, float)
        (epochs > 0, learning rate > 0, weight decay >= 0), in order.
    batches : int, default 5
        Minibatches per epoch, at most N.
    seed : int, default 0
        The minibatches' shuffles.
    device : str or torch.device, default "cpu"

    Returns
    -------
    float
        The final training mean squared error (1/(N·d_out))‖f(X) − Y‖_F².

    Raises
    ------
    ValueError
        Naming the argument: non-finite data, different row counts, bad stages or batches, an
        unknown device.
    NotConvergedError
        When the loss becomes non-finite.
    """
    points, targets = as_matrix(X, "X"), as_matrix(Y, "Y")
    if points.shape[0] != targets.shape[0]:
        raise ValueError(f"X and Y must have the same number of rows, got {points.shape[0]} and "
                         f"{targets.shape[0]}")
    if not stages:
        raise ValueError("stages must list at least one (epochs, lr, weight_decay)")
    plan = [(positive_int(epochs, "stages[i][0]"), nonnegative_float(lr, "stages[i][1]", positive=True),
             nonnegative_float(decay, "stages[i][2]")) for epochs, lr, decay in stages]
    parts = positive_int(batches, "batches")
    if parts > points.shape[0]:
        raise ValueError(f"batches must be at most the {points.shape[0]} points, got {parts}")
    where = as_device(device)
    net.to(where)
    dtype = next(net.parameters()).dtype
    X_t = torch.as_tensor(points, dtype=dtype, device=where)
    Y_t = torch.as_tensor(targets, dtype=dtype, device=where)
    shuffle = torch.Generator().manual_seed(as_seed(seed))
    step = 0
    for epochs, lr, decay in plan:
        adam = torch.optim.Adam(net.parameters(), lr=lr, weight_decay=decay)
        for _ in range(epochs):
            for rows in torch.randperm(points.shape[0], generator=shuffle).to(where).chunk(parts):
                adam.zero_grad()
                loss = torch.mean((net(X_t[rows]) - Y_t[rows]) ** 2)
                finite_loss(loss, "fit_stages", step).backward()
                adam.step()
                step += 1
    with torch.no_grad():
        return float(torch.mean((net(X_t) - Y_t) ** 2))
