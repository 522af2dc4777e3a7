"""``report.html``: one self-contained page (figures embedded, no network) rendered with Jinja2.

The page holds a sortable, filterable claim table and one section per claim: statement, source
with links to the papers, each comparison (worst case folded away), the negative control, the
figures and the command that reproduces the claim. It is built from ``report.json`` and the
figures beside it alone, so ``rankcheck report OUT`` can rebuild it.
"""

from __future__ import annotations

import base64
import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from rankcheck.proofs_checks.verdict import Verdict, atol_text, brief

__all__ = ["render_html", "write_html", "paper_links", "reproduce_command"]

_ARXIV = re.compile(r"arXiv[ :]+(\d{4}\.\d{4,5})")
#: characters of a worst case shown in the table; the folded part shows up to _FULL
_SHORT, _FULL = 80, 4000


def paper_links(source: str) -> list[dict[str, str]]:
    """Links to the arXiv pages of the papers a claim's source names, in order, without repeats.

    Parameters
    ----------
    source : str
        A claim's ``source`` text.

    Returns
    -------
    list of dict
        Each with ``label`` (``"arXiv 2106.15933"``) and ``url``.
    """
    ids = dict.fromkeys(_ARXIV.findall(source))
    return [{"label": f"arXiv {i}", "url": f"https://arxiv.org/abs/{i}"} for i in ids]


def reproduce_command(verdict: Verdict) -> str:
    """The command line that reruns this claim on its profile and seed.

    Parameters
    ----------
    verdict : Verdict

    Returns
    -------
    str
    """
    return f"rankcheck run {verdict.claim_id} --profile {verdict.profile} --seed {verdict.seed}"


def _number(value: Any) -> str:
    try:
        return f"{float(value):.3g}"
    except (TypeError, ValueError):
        return str(value)


def _comparison(summary: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": summary["name"],
        "cases": summary["cases"],
        "passed": summary["passed"],
        "ratio_text": _number(summary["ratio"]),
        "note": summary.get("note", ""),
        "rtol": _number(summary["rtol"]),
        "atol": atol_text(summary["atol"]),
        "why": summary["why"],
        "worst_case": summary["worst_case"],
        "max_abs_error": _number(summary["max_abs_error"]),
        "max_rel_error": _number(summary["max_rel_error"]),
        "predicted_short": brief(summary["worst_predicted"], _SHORT),
        "measured_short": brief(summary["worst_measured"], _SHORT),
        "predicted_full": brief(summary["worst_predicted"], _FULL),
        "measured_full": brief(summary["worst_measured"], _FULL),
    }


def _figure(name: str, folder: Path, caption: str) -> dict[str, str]:
    path = folder / name
    data = base64.b64encode(path.read_bytes()).decode("ascii") if path.is_file() else ""
    return {"name": name, "data": data, "caption": caption}


def _claim(verdict: Verdict, folder: Path) -> dict[str, Any]:
    details = verdict.details
    comparisons = details.get("comparisons", [])
    worst = verdict.worst_comparison()
    ratio = None if worst is None else float(worst["ratio"])
    control = details.get("control", {})
    return {
        "id": verdict.claim_id,
        "anchor": "claim-" + verdict.claim_id.replace(".", "-"),
        "family": verdict.claim_id.split(".", 1)[0],
        "status": verdict.status,
        "control": verdict.control,
        "ratio_text": "-" if ratio is None else f"{ratio:.2g}",
        "ratio_sort": -1.0 if ratio is None else min(ratio, 1e300),
        "ratio_note": (worst or {}).get("note", ""),
        "seconds": verdict.seconds,
        "search": " ".join((verdict.claim_id, verdict.statement, verdict.source)).lower(),
        "statement": verdict.statement,
        "source": verdict.source,
        "links": paper_links(verdict.source),
        "command": reproduce_command(verdict),
        "reason": details.get("reason", ""),
        "comparisons": [_comparison(c) for c in comparisons],
        "control_how": control.get("broken_how", ""),
        "control_status": control.get("status", ""),
        "control_reason": control.get("reason", ""),
        "figures": [_figure(name, folder, details.get("captions", {}).get(name, ""))
                    for name in verdict.figures],
        "traceback": details.get("traceback", ""),
        "routes": details.get("routes", {}),
    }


def render_html(meta: dict[str, Any], verdicts: Sequence[Verdict], folder: Path) -> str:
    """The report page as one string.

    Parameters
    ----------
    meta : dict
        The report's meta (``profile``, ``seed``, ``finished``, ``total_seconds``, ``python``,
        ``machine``), as ``write_reports`` stores it.
    verdicts : sequence of Verdict
    folder : Path
        Where the verdicts' figures (PNG files) are; a missing one is named on the page.

    Returns
    -------
    str
    """
    environment = Environment(
        loader=PackageLoader("rankcheck.proofs_checks", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    claims = [_claim(v, folder) for v in verdicts]
    counts = Counter(v.status for v in verdicts)
    page_meta = {"profile": "?", "seed": "?", "finished": "?", "total_seconds": 0.0,
                 "python": "?", "machine": "?", **meta}
    return environment.get_template("report.html.j2").render(
        meta=page_meta, claims=claims, families=sorted({c["family"] for c in claims}),
        counts={s: counts.get(s, 0) for s in ("pass", "fail", "inconclusive", "error")},
        not_run=list(page_meta.get("not_run", [])),
    )


def write_html(meta: dict[str, Any], verdicts: Sequence[Verdict], out_dir: Path) -> Path:
    """Write ``report.html`` into ``out_dir`` (figures read from there).

    Parameters
    ----------
    meta : dict
    verdicts : sequence of Verdict
    out_dir : Path

    Returns
    -------
    Path
        The page.
    """
    path = Path(out_dir) / "report.html"
    path.write_text(render_html(meta, verdicts, Path(out_dir)), encoding="utf-8")
    return path
