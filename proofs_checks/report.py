"""Reports: the terminal table, ``report.json`` (stable keys), ``report.md`` and ``report.html``.

``report.json`` is the record; the two pages are rebuilt from it (``write_pages``).
"""

from __future__ import annotations

import json
import platform
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rankcheck.proofs_checks.html import write_html
from rankcheck.proofs_checks.verdict import Verdict, atol_text, brief

__all__ = ["COLUMNS", "format_table", "write_reports", "write_pages", "load_report"]

COLUMNS = ("claim", "status", "control", "worst err/tol", "seconds")


def _row(verdict: Verdict) -> tuple[str, ...]:
    worst = verdict.worst_comparison()
    ratio_text = "-" if worst is None else f"{float(worst['ratio']):.2g}"
    if worst is not None and worst.get("note"):
        ratio_text += " †"
    return (verdict.claim_id, verdict.status, verdict.control, ratio_text, f"{verdict.seconds:.1f}")


def _footnotes(verdicts: Sequence[Verdict]) -> list[str]:
    """One line per claim whose worst ratio carries a note (marked † in the table)."""
    notes = [(v.claim_id, v.worst_comparison()) for v in verdicts]
    return [f"† {claim_id}: {worst['note']}" for claim_id, worst in notes if worst and worst.get("note")]


def format_table(verdicts: Sequence[Verdict], markdown: bool = False) -> str:
    """One line per claim: id, status, control, worst error as a fraction of its tolerance, time.

    Parameters
    ----------
    verdicts : sequence of Verdict
    markdown : bool, default False

    Returns
    -------
    str
    """
    rows = [COLUMNS, *(_row(v) for v in verdicts)]
    if markdown:
        lines = ["| " + " | ".join(row) + " |" for row in rows]
        lines.insert(1, "|" + "|".join("---" for _ in COLUMNS) + "|")
        return "\n".join(lines + ["", *_footnotes(verdicts)])
    widths = [max(len(row[k]) for row in rows) for k in range(len(COLUMNS))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    passed = sum(v.status == "pass" for v in verdicts)
    lines += [*_footnotes(verdicts), f"{passed}/{len(verdicts)} claims pass"]
    return "\n".join(lines)


def _section(verdict: Verdict) -> str:
    details = verdict.details
    lines = [
        f"## `{verdict.claim_id}`: {verdict.status}, control {verdict.control}",
        "",
        f"**Statement.** {verdict.statement}  ",
        f"**Source.** {verdict.source}  ",
        f"**Seed** {verdict.seed}, profile `{verdict.profile}`, {verdict.seconds:.1f} s.",
        "",
    ]
    if "reason" in details:
        lines += [f"**Reason.** {details['reason']}", ""]
    routes = details.get("routes")
    if routes:
        def names(key: str) -> str:
            return ", ".join(f"`{n.removeprefix('rankcheck.')}`" for n in routes[key]) or "none"

        lines += [f"**Routes.** prediction from {names('prediction')}; measurement from "
                  f"{names('measurement')}.", ""]
    for comp in details.get("comparisons", []):
        lines += [
            f"- *{comp['name']}* ({comp['cases']} cases): {'pass' if comp['passed'] else 'FAIL'}; "
            f"max abs err {float(comp['max_abs_error']):.3g}, max rel err "
            f"{float(comp['max_rel_error']):.3g}; tolerance rtol={comp['rtol']:g}, "
            f"atol={atol_text(comp['atol'])} ({comp['why']})."
            + (f" *Note:* {comp['note']}" if comp.get("note") else ""),
            "  <details><summary>worst case</summary>",
            "",
            f"  {brief(comp['worst_case'])}: predicted {brief(comp['worst_predicted'])}, measured "
            f"{brief(comp['worst_measured'])}.",
            "",
            "  </details>",
        ]
    control = details.get("control", {})
    lines += ["", f"**Negative control** ({control.get('broken_how', '')}): {control.get('status')}"
              + (f" — {control['reason']}" if control.get("reason") else ""), ""]
    captions = details.get("captions", {})
    for figure in verdict.figures:
        lines += [f"![{figure}]({figure})", ""]
        if captions.get(figure):
            lines += [f"*Judged:* {captions[figure]}", ""]
    if "traceback" in details:
        lines += ["```", details["traceback"].rstrip(), "```", ""]
    return "\n".join(lines)


def write_reports(verdicts: Sequence[Verdict], out_dir: Path, meta: dict[str, Any]) -> None:
    """Write ``report.json`` (stable keys), ``report.md`` and ``report.html`` into ``out_dir``.

    Parameters
    ----------
    verdicts : sequence of Verdict
    out_dir : Path
    meta : dict
        Profile, seed and the like, stored with the verdicts.
    """
    meta = {
        **meta,
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "total_seconds": round(sum(v.seconds for v in verdicts), 3),
    }
    payload = {"meta": meta, "verdicts": [v.to_dict() for v in verdicts]}
    (out_dir / "report.json").write_text(json.dumps(payload, indent=2) + "\n")
    write_pages(meta, verdicts, out_dir)


def write_pages(meta: dict[str, Any], verdicts: Sequence[Verdict], out_dir: Path) -> None:
    """Write ``report.md`` and ``report.html`` from a report's meta and verdicts.

    In the Markdown, each comparison's worst case is folded in a ``<details>`` block (GitHub and
    most viewers render it), so that no line runs to a trajectory.

    Parameters
    ----------
    meta : dict
        As stored in ``report.json``.
    verdicts : sequence of Verdict
    out_dir : Path
        The report folder; the figures are read from it.
    """
    markdown = [
        "# rankcheck report",
        "",
        f"Profile `{meta.get('profile')}`, seed {meta.get('seed')}, finished {meta.get('finished')}, "
        f"{float(meta.get('total_seconds', 0.0)):.1f} s of checks.",
        "",
        format_table(verdicts, markdown=True),
        "",
        *([f"**Not run** (the run stopped or was interrupted first): "
           f"{', '.join(f'`{i}`' for i in meta['not_run'])}", ""] if meta.get("not_run") else []),
        *(_section(v) for v in verdicts),
    ]
    (out_dir / "report.md").write_text("\n".join(markdown))
    write_html(meta, verdicts, out_dir)


def load_report(out_dir: Path) -> tuple[dict[str, Any], list[Verdict]]:
    """Read ``report.json`` back.

    Parameters
    ----------
    out_dir : Path

    Returns
    -------
    (meta, verdicts) : tuple of dict and list of Verdict
    """
    payload = json.loads((out_dir / "report.json").read_text())
    return payload["meta"], [Verdict.from_dict(v) for v in payload["verdicts"]]
