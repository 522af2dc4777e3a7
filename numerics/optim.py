"""The one optimizer loop shared by the float64 trainers: L-BFGS to a stationary point."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from numerics.validation import NotConvergedError, positive_int


def minimize_to_stationarity(objective: Callable[[], torch.Tensor], parameters: list[torch.Tensor],
                             rounds: int, gradient_tol: float, name: str) -> float:
    """Minimize ``objective()`` over ``parameters`` by rounds of L-BFGS (500 iterations, strong
    Wolfe) until every gradient entry is <= ``gradient_tol``; returns that largest entry, raises
    ``NotConvergedError`` naming ``name`` when ``rounds`` do not get there."""
    optimizer = torch.optim.LBFGS(parameters, lr=1.0, max_iter=500, tolerance_grad=gradient_tol / 10,
                                  tolerance_change=1e-16, history_size=50, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = objective()
        loss.backward()
        return loss

    gradient = np.inf
    for _ in range(positive_int(rounds, "rounds")):
        optimizer.step(closure)
        closure()
        gradient = max(float(p.grad.abs().max()) for p in parameters)
        if gradient <= gradient_tol:
            return gradient
    raise NotConvergedError(f"{name}: gradient {gradient:.2e} > {gradient_tol:.0e} after {rounds} rounds "
                            "of L-BFGS")
