"""Figure helpers every family reuses: figures, heatmaps of 2-D grids, mean ± s.e. curves, log–log slopes.

Figures are ``matplotlib.figure.Figure`` objects made without pyplot: importing the registry, or
running a claim, never switches the backend of a user's session (a notebook keeps its own), and no
figure is left open in pyplot's global state.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from scipy import stats

__all__ = ["SlopeFit", "heatmap", "loglog_slope", "mean_sem", "mean_sem_curves", "subplots"]


def subplots(nrows: int = 1, ncols: int = 1, **options: Any) -> tuple[Figure, Any]:
    """A new figure and its axes, as ``pyplot.subplots`` returns them, without pyplot.

    Parameters
    ----------
    nrows, ncols : int
        The grid of axes.
    **options
        ``figsize``, ``dpi``, ``layout`` and ``constrained_layout`` go to ``Figure``; the rest
        (``sharex``, ``squeeze``, ``subplot_kw``, ...) to ``Figure.subplots``.

    Returns
    -------
    figure : matplotlib.figure.Figure
    axes : Axes or ndarray of Axes
    """
    figure_keys = {"figsize", "dpi", "layout", "constrained_layout", "tight_layout"}
    figure = Figure(**{k: v for k, v in options.items() if k in figure_keys})
    axes = figure.subplots(nrows, ncols, **{k: v for k, v in options.items() if k not in figure_keys})
    return figure, axes


@dataclass(frozen=True)
class SlopeFit:
    """Least-squares fit log y = intercept + slope·log x, with a two-sided confidence interval.

    Attributes
    ----------
    slope, intercept : float
    low, high : float
        The Student-t interval of the slope.
    level : float
        Its confidence level.
    """

    slope: float
    intercept: float
    low: float
    high: float
    level: float


def loglog_slope(x: Sequence[float], y: Sequence[float], level: float = 0.95) -> SlopeFit:
    """Slope of log y against log x with its Student-t confidence interval.

    Parameters
    ----------
    x, y : sequence of float, same length >= 3
        All > 0.
    level : float, default 0.95

    Returns
    -------
    SlopeFit

    Raises
    ------
    ValueError
        Fewer than 3 points, different lengths, or a non-positive value.
    """
    x_arr, y_arr = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x_arr.shape != y_arr.shape or x_arr.ndim != 1 or x_arr.size < 3:
        raise ValueError(f"x and y must be 1-D of equal length >= 3, got {x_arr.shape}, {y_arr.shape}")
    if np.any(x_arr <= 0) or np.any(y_arr <= 0):
        raise ValueError("x and y must be positive for a log–log fit")
    fit = stats.linregress(np.log(x_arr), np.log(y_arr))
    half = stats.t.ppf(0.5 + level / 2, x_arr.size - 2) * fit.stderr
    return SlopeFit(float(fit.slope), float(fit.intercept), float(fit.slope - half),
                    float(fit.slope + half), level)


def mean_sem(rows: Sequence[Mapping[str, Any]], x: str, y: str) -> tuple[np.ndarray, ...]:
    """Group rows by ``x``: the sorted x values, the mean of ``y``, its standard error and the counts.

    Parameters
    ----------
    rows : sequence of mapping
    x, y : str
        Keys of the rows.

    Returns
    -------
    (xs, means, sems, counts) : tuple of ndarray, each of shape (groups,)
    """
    groups: dict[Any, list[float]] = defaultdict(list)
    for row in rows:
        groups[row[x]].append(float(row[y]))
    keys = sorted(groups)
    means = np.array([np.mean(groups[k]) for k in keys])
    counts = np.array([len(groups[k]) for k in keys])
    sems = np.array([np.std(groups[k], ddof=1) / np.sqrt(len(groups[k])) if len(groups[k]) > 1
                     else 0.0 for k in keys])
    return np.asarray(keys, dtype=float), means, sems, counts


def mean_sem_curves(ax: Any, rows: Sequence[Mapping[str, Any]], x: str, y: str,
                    group: str | None = None) -> None:
    """One curve per value of ``group``: mean of ``y`` over seeds at each ``x``, ± one s.e. band.

    Parameters
    ----------
    ax : matplotlib Axes
    rows : sequence of mapping
    x, y : str
    group : str, optional
    """
    labels = sorted({row[group] for row in rows}) if group else [None]
    for label in labels:
        subset = [row for row in rows if group is None or row[group] == label]
        xs, means, sems, _ = mean_sem(subset, x, y)
        line, = ax.plot(xs, means, "o-", ms=3, label=None if label is None else f"{group}={label}")
        ax.fill_between(xs, means - sems, means + sems, color=line.get_color(), alpha=0.25)
    ax.set(xlabel=x, ylabel=f"{y} (mean ± s.e.)")
    if group:
        ax.legend(fontsize=8)


def heatmap(ax: Any, x_values: Sequence[float], y_values: Sequence[float], values: np.ndarray,
            boundaries: Sequence[tuple[Sequence[float], Sequence[float], str]] = (),
            colorbar_label: str = "") -> Any:
    """A 2-D grid of values with optional boundary lines (a phase diagram next to its prediction).

    Parameters
    ----------
    ax : matplotlib Axes
    x_values : sequence of float, length nx
    y_values : sequence of float, length ny
    values : ndarray, shape (ny, nx)
    boundaries : sequence of (xs, ys, label), default ()
        Lines drawn over the grid (predicted boundaries).
    colorbar_label : str, default ""

    Returns
    -------
    matplotlib QuadMesh
        The image.

    Raises
    ------
    ValueError
        When ``values`` does not have shape (ny, nx).
    """
    grid = np.asarray(values, dtype=float)
    if grid.shape != (len(y_values), len(x_values)):
        raise ValueError(f"values must have shape {(len(y_values), len(x_values))}, got {grid.shape}")
    image = ax.pcolormesh(x_values, y_values, grid, shading="nearest", cmap="viridis")
    ax.figure.colorbar(image, ax=ax, label=colorbar_label)
    for xs, ys, label in boundaries:
        ax.plot(xs, ys, "r--", lw=1.2, label=label)
    if boundaries:
        ax.legend(fontsize=8)
    ax.set(xlim=(min(x_values), max(x_values)), ylim=(min(y_values), max(y_values)))
    return image
