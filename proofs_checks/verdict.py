"""Verdicts and comparisons: what a check returns, what the runner reports, and how their values
read in the reports (``brief``, ``atol_text``).

Both are plain dataclasses that serialize to JSON with stable keys (``to_dict``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np

__all__ = ["Status", "Control", "jsonable", "Comparison", "compare", "Verdict", "atol_text", "brief"]

Status = Literal["pass", "fail", "inconclusive", "error"]
Control = Literal["caught", "missed"]


def jsonable(value: Any) -> Any:
    """Convert numpy scalars and arrays, and nested containers of them, to JSON-serializable objects.

    Parameters
    ----------
    value : object

    Returns
    -------
    object
    """
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return repr(value)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return repr(value)


@dataclass(frozen=True)
class Comparison:
    """Predicted against measured values over a list of cases, judged under a tolerance.

    A case passes when |p − m| <= atol + rtol·|p| entrywise; ``ratio`` is the largest
    |p − m| / (atol + rtol·|p|) over all entries of all cases (pass iff ratio <= 1).

    Attributes
    ----------
    name : str
    passed : bool
    predicted, measured : list
    rtol : float
    atol : float or list
        One number or one per case (a bound that depends on the case; a case's may be an array of
        the case's shape, a bound per entry).
    why : str
        The tolerance's justification.
    ratio : float
    max_abs_error, max_rel_error : float
        ``max_rel_error`` skips entries predicted 0.
    worst_index : int
        The case where ``ratio`` is reached.
    worst_case : str
        That case, described.
    note : str
        What a reader should know about ``ratio``, e.g. that a bound is attained by construction so a
        ratio of 1 is expected (shown beside it in the reports); empty when nothing.
    """

    name: str
    passed: bool
    predicted: list[Any]
    measured: list[Any]
    rtol: float
    atol: float | list[Any]
    why: str
    ratio: float
    max_abs_error: float
    max_rel_error: float
    worst_index: int
    worst_case: str
    note: str = ""

    @property
    def worst_atol(self) -> float:
        """The absolute tolerance of the worst case (its largest entry for a per-entry bound)."""
        if isinstance(self.atol, list):
            return float(np.max(self.atol[self.worst_index]))
        return self.atol

    def summary(self) -> dict[str, Any]:
        """The comparison without its per-case lists (for the verdict's details)."""
        data = asdict(self)
        data["worst_predicted"] = self.predicted[self.worst_index]
        data["worst_measured"] = self.measured[self.worst_index]
        data["cases"] = len(self.predicted)
        del data["predicted"], data["measured"]
        return jsonable(data)


def compare(
    name: str,
    predicted: list[Any],
    measured: list[Any],
    *,
    rtol: float,
    atol: float | Sequence[Any] = 0.0,
    why: str,
    cases: list[Any] | None = None,
    note: str = "",
) -> Comparison:
    """Judge ``predicted`` against ``measured`` case by case (each case a scalar or an array).

    Parameters
    ----------
    name : str
    predicted, measured : list
        One entry per case, of equal shapes.
    rtol : float
    atol : float or sequence, default 0
        One number or one per case (each a number or an array of the case's shape).
    why : str
    cases : list, optional
        Descriptions of the cases (for the worst case).
    note : str, default ""
        Shown beside the worst ratio in the reports (e.g. "bound attained at ρ = 1").

    Returns
    -------
    Comparison

    Raises
    ------
    ValueError
        Lists of different lengths or shapes, a negative tolerance, an empty ``why``.
    """
    if len(predicted) != len(measured) or not predicted:
        raise ValueError(
            f"predicted and measured must be non-empty lists of equal length, "
            f"got {len(predicted)} and {len(measured)}"
        )
    per_case = ([np.asarray(a, dtype=np.float64) for a in atol] if isinstance(atol, Sequence)
                else [np.float64(atol)] * len(predicted))
    if len(per_case) != len(predicted):
        raise ValueError(f"atol must be one number or one per case ({len(predicted)}), got "
                         f"{len(per_case)}")
    smallest = min(float(np.min(a)) for a in per_case)
    if rtol < 0 or smallest < 0 or rtol + smallest == 0:
        raise ValueError(f"tolerance must be non-negative and not both zero, got {rtol=}, {atol=}")
    if not why:
        raise ValueError("why must justify the tolerance")
    ratios, abs_errors, rel_errors = [], [], []
    for p, m, case_atol in zip(predicted, measured, per_case, strict=True):
        p_arr = np.atleast_1d(np.asarray(p, dtype=np.float64))
        m_arr = np.atleast_1d(np.asarray(m, dtype=np.float64))
        if p_arr.shape != m_arr.shape:
            ratios.append(np.inf)
            abs_errors.append(np.inf)
            rel_errors.append(np.inf)
            continue
        error = np.abs(p_arr - m_arr)
        ratio = error / (case_atol + rtol * np.abs(p_arr))
        ratio[~np.isfinite(error)] = np.inf
        ratios.append(float(np.max(ratio)))
        abs_errors.append(float(np.max(error)))
        nonzero = p_arr != 0  # a relative error means nothing where the prediction is 0
        rel_errors.append(float(np.max(error[nonzero] / np.abs(p_arr[nonzero]), initial=0.0)))
    worst = int(np.argmax(ratios))
    described = repr(cases[worst]) if cases is not None else f"case {worst}"
    return Comparison(
        name=name,
        passed=bool(ratios[worst] <= 1.0),
        predicted=jsonable(list(predicted)),
        measured=jsonable(list(measured)),
        rtol=rtol,
        atol=jsonable(per_case) if isinstance(atol, Sequence) else float(atol),
        why=why,
        ratio=ratios[worst],
        max_abs_error=max(abs_errors),
        max_rel_error=max(rel_errors),
        worst_index=worst,
        worst_case=described,
        note=note,
    )


@dataclass
class Verdict:
    """The runner's judgement of one claim on one profile and seed.

    ``status`` is ``pass`` only if every comparison passed and the negative control was ``caught``
    (the same check against the deliberately broken prediction came out ``fail``).

    Attributes
    ----------
    claim_id, statement, source : str
    profile : str
    status : {"pass", "fail", "inconclusive", "error"}
        ``error``: the machinery failed (``InfrastructureError``), nothing was judged.
    control : {"caught", "missed"}
    predicted, measured : object
        Those of the worst case of the worst comparison.
    tolerance : dict
        Its ``rtol``, ``atol`` and ``why``.
    seed : int
    seconds : float
    details : dict
        Every comparison's summary, the control's, the reason and traceback if any.
    figures : list of str
    """

    claim_id: str
    statement: str
    source: str
    profile: str
    status: Status
    control: Control
    predicted: Any
    measured: Any
    tolerance: dict[str, Any]
    seed: int
    seconds: float
    details: dict[str, Any] = field(default_factory=dict)
    figures: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return jsonable(asdict(self))

    def worst_comparison(self) -> dict[str, Any] | None:
        """The summary of the comparison with the largest err/tol ratio (None when there is none).

        Returns
        -------
        dict or None
            As ``Comparison.summary`` gives it (``ratio``, ``note``, ...).
        """
        comparisons = self.details.get("comparisons", [])
        return max(comparisons, key=lambda c: float(c["ratio"]), default=None)  # JSON keeps "inf"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Verdict:
        return cls(**data)


def atol_text(atol: Any) -> str:
    """An absolute tolerance as a report prints it: one number, or the range of per-case ones.

    Parameters
    ----------
    atol : float or list
        As ``Comparison.atol`` (nested lists for per-entry bounds).

    Returns
    -------
    str
    """
    if isinstance(atol, list):
        values = np.concatenate([np.ravel(np.asarray(a, dtype=float)) for a in atol])
        return f"{values.min():.3g}–{values.max():.3g} (per case)"
    return f"{float(atol):g}"


def brief(value: Any, limit: int = 240) -> str:
    """``str(value)`` cut to ``limit`` characters, saying how many numbers it holds when cut.

    A worst case can be a whole trajectory.

    Parameters
    ----------
    value : object
    limit : int, default 240

    Returns
    -------
    str
    """
    text = str(value)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… (≈{text.count(',') + 1} values; full record in report.json)"
