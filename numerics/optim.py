"""The L-BFGS set-up shared by the float64 solvers, and its loop to a stationary point."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from rankcheck.errors import NotConvergedError
from rankcheck.validation import positive_int

__all__ = ["Closure", "lbfgs", "minimize_to_stationarity"]

Closure = Callable[[], torch.Tensor]


def lbfgs(objective: Closure, parameters: list[torch.Tensor], *, max_iter: int, tolerance_grad: float,
          tolerance_change: float) -> tuple[torch.optim.LBFGS, Closure]:
    """A float64 L-BFGS optimizer (strong Wolfe line search, history 50) over ``parameters`` and the
    closure that evaluates ``objective()`` with fresh gradients."""
    optimizer = torch.optim.LBFGS(parameters, lr=1.0, max_iter=max_iter, tolerance_grad=tolerance_grad,
                                  tolerance_change=tolerance_change, history_size=50,
                                  line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = objective()
        loss.backward()
        return loss

    return optimizer, closure


def minimize_to_stationarity(objective: Closure, parameters: list[torch.Tensor],
                             rounds: int, gradient_tol: float, name: str, *,
                             plateau_rtol: float | None = None) -> float:
    """Minimize ``objective()`` over ``parameters`` by rounds of L-BFGS (500 iterations, strong
    Wolfe) until every gradient entry is <= ``gradient_tol``; returns that largest entry, raises
    ``NotConvergedError`` naming ``name`` when ``rounds`` do not get there.

    With ``plateau_rtol`` it also stops when a round lowers the objective by less than
    ``plateau_rtol`` × its value: the iterates no longer move. ReLU networks with biases fitted to
    few points reach their minima on kinks (a unit's hyperplane through a data point), where the
    gradient jumps and never falls below a tolerance; the returned gradient then says how far from
    smooth stationarity the stop is."""
    optimizer, closure = lbfgs(objective, parameters, max_iter=500, tolerance_grad=gradient_tol / 10,
                               tolerance_change=1e-16)
    gradient, previous = np.inf, np.inf
    for _ in range(positive_int(rounds, "rounds")):
        optimizer.step(closure)
        value = float(closure().detach())
        gradient = max(float(p.grad.abs().max()) for p in parameters)
        stalled = plateau_rtol is not None and previous - value <= plateau_rtol * abs(value)
        if gradient <= gradient_tol or stalled:
            return gradient
        previous = value
    raise NotConvergedError(f"{name}: gradient {gradient:.2e} > {gradient_tol:.0e} after {rounds} rounds "
                            "of L-BFGS")
