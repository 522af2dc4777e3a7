"""The tolerance audit of a report: how close each comparison's worst error comes to its tolerance.

A tolerance far above the errors it bounds lets a wrong constant pass (issue 31, pattern 2). For
every comparison of every verdict in a report this lists the worst error as a fraction of its
tolerance (the comparison's ``ratio``) and flags those below 1/``factor``: a tolerance more than
``factor`` times the worst error seen. Three kinds carry no error model to audit and are counted
apart: a margin judged against exact zero (rtol 0, atol <= 1e-9: a band's side, a one-sided bound),
an exact comparison (worst error exactly 0: counts, ranks, integers), and a round-off check (rtol
and atol <= 1e-6: two routes to the same number, where any bug moves the result far more).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from rankcheck.proofs_checks.verdict import Verdict

__all__ = ["MARGIN_ATOL", "ROUND_OFF", "tolerance_audit", "format_audit"]

#: An atol at or below this with rtol 0 is a margin judged against exact zero, not a tolerance.
MARGIN_ATOL = 1e-9
#: rtol and atol at or below this: a round-off check.
ROUND_OFF = 1e-6


def _kind(comparison: dict[str, Any]) -> str:
    """"margin", "exact", "round-off" or "tolerance" (the only kind audited)."""
    atol = comparison.get("atol", 0.0)  # one number, or one per case (numbers or arrays)
    largest_atol = (max((float(np.max(a)) for a in atol), default=0.0) if isinstance(atol, list)
                    else float(atol))
    rtol = comparison.get("rtol", 0.0)
    if rtol == 0 and largest_atol <= MARGIN_ATOL:
        return "margin"
    if comparison.get("max_abs_error", 1.0) == 0:
        return "exact"
    if rtol <= ROUND_OFF and largest_atol <= ROUND_OFF:
        return "round-off"
    return "tolerance"


def tolerance_audit(verdicts: Sequence[Verdict], factor: float = 5.0) -> list[dict[str, Any]]:
    """One row per comparison of the verdicts that ran their comparisons.

    Parameters
    ----------
    verdicts : sequence of Verdict
    factor : float, default 5
        A tolerance more than ``factor`` times the worst error is flagged ``loose``.

    Returns
    -------
    list of dict
        ``claim``, ``profile``, ``comparison`` (its name), ``kind`` ("tolerance", "margin", "exact"
        or "round-off"), ``ratio`` (worst error / tolerance), ``loose`` (bool; only tolerances can
        be), ``note``.

    Raises
    ------
    ValueError
        When ``factor`` is not > 1.
    """
    if not factor > 1:
        raise ValueError(f"factor must be > 1, got {factor}")
    rows = []
    for verdict in verdicts:
        for comparison in verdict.details.get("comparisons", []):
            kind, ratio = _kind(comparison), float(comparison.get("ratio", 0.0))
            rows.append({"claim": verdict.claim_id, "profile": verdict.profile,
                         "comparison": comparison.get("name", ""), "kind": kind, "ratio": ratio,
                         "loose": kind == "tolerance" and ratio < 1 / factor,
                         "note": comparison.get("note", "")})
    return rows


def format_audit(rows: Sequence[dict[str, Any]], factor: float = 5.0, markdown: bool = False) -> str:
    """The audited tolerances, loosest first, and a summary line.

    Parameters
    ----------
    rows : sequence of dict
        From ``tolerance_audit``.
    factor : float, default 5
        The factor the rows were flagged with (for the summary).
    markdown : bool, default False

    Returns
    -------
    str
    """
    audited = sorted((r for r in rows if r["kind"] == "tolerance"), key=lambda r: r["ratio"])
    header = ["| claim | comparison | worst error / tolerance | loose |", "|---|---|---|---|"]
    lines = header if markdown else []
    for row in audited:
        name = row["comparison"] if len(row["comparison"]) <= 90 else row["comparison"][:89] + "…"
        flag = f"yes (> {factor:g}×)" if row["loose"] else ""
        if markdown:
            lines.append(f"| `{row['claim']}` | {name} | {row['ratio']:.2g} | {flag} |")
        else:
            mark = "LOOSE" if row["loose"] else "     "
            lines.append(f"{row['ratio']:>8.2g}  {mark}  {row['claim']}: {name}")
    loose = sum(r["loose"] for r in audited)
    counts = {kind: sum(r["kind"] == kind for r in rows) for kind in ("margin", "exact", "round-off")}
    lines.append(f"{len(audited)} tolerances audited, {loose} more than {factor:g}× the worst error seen; "
                 f"not audited: {counts['margin']} margins against 0, {counts['exact']} exact comparisons, "
                 f"{counts['round-off']} round-off checks")
    return "\n".join(lines)
