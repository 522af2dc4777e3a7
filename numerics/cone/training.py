"""Training of L2-regularized MLPs to a stationary point (Adam, then L-BFGS).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from numpy.typing import ArrayLike

from rankcheck.numerics.networks import MODULES, mlp, regularized_loss  # noqa: F401  (re-exported)
from rankcheck.numerics.optim import finite_loss
from rankcheck.validation import as_matrix, nonnegative_float

__all__ = ["Trained", "train"]

@dataclass(frozen=True)
class Trained:
    """Outcome of ``train``.

    Attributes
    ----------
    net : torch.nn.Sequential
        The trained network (the one passed in, trained in place).
    loss : float
        The final L(θ).
    grad_norm : float
        ‖∇L‖ at the end (tolerances derived from stationarity use it).
    """

    net: torch.nn.Sequential
    loss: float
    grad_norm: float


def train(net: torch.nn.Sequential, X: ArrayLike, Y: ArrayLike, lam: float, *, adam_steps: int = 2000,
          lr: float = 1e-2, lbfgs_steps: int = 500) -> Trained:
    """Minimize L(θ) = (1/N)‖f_θ(X) − Y‖² + λ‖θ‖² full-batch in float64, in place.

    Adam (``adam_steps`` at ``lr``) to find a basin, then L-BFGS with strong-Wolfe line search to a
    tight stationary point.

    Parameters
    ----------
    net : torch.nn.Sequential
        A float64 MLP (``rankcheck.numerics.networks.mlp``).
    X : array_like, shape (N, d)
    Y : array_like, shape (N, d_out)
    lam : float
        λ >= 0.
    adam_steps : int, default 2000
    lr : float, default 1e-2
    lbfgs_steps : int, default 500

    Returns
    -------
    Trained

    Raises
    ------
    ValueError
        Naming the argument: non-finite data, X and Y of different row counts, a negative λ.
    """
    points, targets = as_matrix(X, "X"), as_matrix(Y, "Y")
    if points.shape[0] != targets.shape[0]:
        raise ValueError(f"X and Y must have the same number of rows, got {points.shape[0]} and "
                         f"{targets.shape[0]}")
    lam = nonnegative_float(lam, "lam")
    X_t, Y_t = torch.as_tensor(points), torch.as_tensor(targets)
    params = list(net.parameters())
    adam = torch.optim.Adam(params, lr=lr)
    for step in range(adam_steps):
        adam.zero_grad()
        finite_loss(regularized_loss(net, X_t, Y_t, lam), "train", step).backward()
        adam.step()
    lbfgs = torch.optim.LBFGS(params, lr=1.0, max_iter=lbfgs_steps, tolerance_grad=1e-14,
                              tolerance_change=1e-16, history_size=50, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        lbfgs.zero_grad()
        value = regularized_loss(net, X_t, Y_t, lam)
        value.backward()
        return value

    lbfgs.step(closure)
    value = closure().detach()
    grad_norm = float(torch.sqrt(sum(torch.sum(p.grad**2) for p in params)))
    return Trained(net=net, loss=float(value), grad_norm=grad_norm)
