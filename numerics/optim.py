"""The L-BFGS set-up shared by the float64 solvers, its loop to a stationary point, and the check
that stops any training at a non-finite loss (``finite_loss``)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from rankcheck.errors import NotConvergedError
from rankcheck.validation import positive_int

__all__ = ["Closure", "lbfgs", "minimize_to_stationarity", "finite_loss"]

Closure = Callable[[], torch.Tensor]


def lbfgs(objective: Closure, parameters: list[torch.Tensor], *, max_iter: int, tolerance_grad: float,
          tolerance_change: float, backward: bool = True) -> tuple[torch.optim.LBFGS, Closure]:
    """A float64 L-BFGS optimizer (strong Wolfe line search, history 50) and its closure.

    Parameters
    ----------
    objective : callable () -> torch.Tensor
        The scalar to minimize.
    parameters : list of torch.Tensor
    max_iter : int
    tolerance_grad, tolerance_change : float
        torch's stopping rules.
    backward : bool, default True
        Differentiate ``objective()`` by autograd; False: ``objective`` sets every parameter's
        ``.grad`` itself (a gradient written by hand).

    Returns
    -------
    optimizer : torch.optim.LBFGS
    closure : callable () -> torch.Tensor
        Evaluates ``objective()`` with fresh gradients.
    """
    optimizer = torch.optim.LBFGS(parameters, lr=1.0, max_iter=max_iter, tolerance_grad=tolerance_grad,
                                  tolerance_change=tolerance_change, history_size=50,
                                  line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = objective()
        if backward:
            loss.backward()
        return loss

    return optimizer, closure


def finite_loss(loss: torch.Tensor, name: str, step: int) -> torch.Tensor:
    """``loss`` itself, or ``NotConvergedError`` naming the solver and the step where it became
    non-finite (a step size too large, an overflow): a training never goes on from NaN.

    Parameters
    ----------
    loss : torch.Tensor
        A scalar.
    name : str
        The solver, for the message.
    step : int

    Returns
    -------
    torch.Tensor

    Raises
    ------
    NotConvergedError
        When ``loss`` is NaN or infinite.
    """
    if not torch.isfinite(loss.detach()):
        raise NotConvergedError(f"{name}: the loss became {loss.item()} at step {step} (diverged)")
    return loss


def minimize_to_stationarity(objective: Closure, parameters: list[torch.Tensor],
                             rounds: int, gradient_tol: float, name: str, *,
                             plateau_rtol: float | None = None, backward: bool = True) -> float:
    """Minimize by rounds of L-BFGS until every gradient entry is <= ``gradient_tol``.

    With ``plateau_rtol`` it also stops when a round lowers the objective by less than
    ``plateau_rtol`` × its value: the iterates no longer move. ReLU networks with biases fitted to
    few points reach their minima on kinks (a unit's hyperplane through a data point), where the
    gradient jumps and never falls below a tolerance; the returned gradient then says how far from
    smooth stationarity the stop is.

    Parameters
    ----------
    objective : callable () -> torch.Tensor
    parameters : list of torch.Tensor
    rounds : int
        Rounds of 500 iterations (strong Wolfe).
    gradient_tol : float
    name : str
        Names the solver in the error message.
    plateau_rtol : float, optional
    backward : bool, default True
        As in ``lbfgs``: False when ``objective`` writes the gradients itself.

    Returns
    -------
    float
        The largest gradient entry at the stop.

    Raises
    ------
    NotConvergedError
        Naming ``name`` when ``rounds`` do not reach either rule.
    """
    optimizer, closure = lbfgs(objective, parameters, max_iter=500, tolerance_grad=gradient_tol / 10,
                               tolerance_change=1e-16, backward=backward)
    gradient, previous = np.inf, np.inf
    for _ in range(positive_int(rounds, "rounds")):
        try:
            optimizer.step(closure)
        except RuntimeError as err:  # torch's line search overflows on a non-finite objective
            value = float(objective().detach())
            if np.isfinite(value):
                raise
            raise NotConvergedError(f"{name}: the objective became {value} in L-BFGS (diverged)") from err
        value = float(closure().detach())
        gradient = max(float(p.grad.abs().max()) for p in parameters)
        if not (np.isfinite(value) and np.isfinite(gradient)):
            raise NotConvergedError(f"{name}: the objective became {value} (gradient {gradient}) in "
                                    "L-BFGS (diverged)")
        stalled = plateau_rtol is not None and previous - value <= plateau_rtol * abs(value)
        if gradient <= gradient_tol or stalled:
            return gradient
        previous = value
    raise NotConvergedError(f"{name}: gradient {gradient:.2e} > {gradient_tol:.0e} after {rounds} rounds "
                            "of L-BFGS")
