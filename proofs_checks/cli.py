"""``rankcheck`` (or ``python -m rankcheck``): list, run, show claims; rebuild reports; summarize sweeps."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import textwrap
from pathlib import Path

from rankcheck.numerics.gnn.datasets import DATASETS, available_datasets
from rankcheck.proofs_checks.audit import format_audit, tolerance_audit
from rankcheck.proofs_checks.context import PROFILES
from rankcheck.proofs_checks.registry import UnknownClaimError, all_claims, select
from rankcheck.proofs_checks.report import format_table, load_report, write_pages
from rankcheck.proofs_checks.routes import claim_routes
from rankcheck.proofs_checks.runner import run
from rankcheck.proofs_checks.sweep import ExecutorConfig, InfrastructureError, SweepStore, check_scheduler
from rankcheck.proofs_checks.verdict import brief
from rankcheck.validation import as_device

__all__ = ["check_out", "build_parser", "main"]


def _list(_: argparse.Namespace) -> int:
    for item in all_claims():
        print(f"{item.id}\n  {item.statement}\n  source: {item.source}\n"
              f"  profiles: {', '.join(item.profiles)}")
    return 0


def check_out(out: Path) -> None:
    """Refuse a report folder that cannot take a report, before any claim runs.

    Parameters
    ----------
    out : Path

    Raises
    ------
    ValueError
        When ``out`` is a file, holds a ``report.json`` (or ``report.html``, ``report.md``) that is a
        folder, or cannot be created or written.
    """
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} is a file, not a folder")
    for name in ("report.json", "report.md", "report.html"):
        if (out / name).is_dir():
            raise ValueError(f"--out {out}: {out / name} is a folder, where the report would be written")
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out, prefix=".write-test-"):
            pass
    except OSError as err:
        raise ValueError(f"--out {out} cannot be written: {err.strerror or err}") from err


def _run(args: argparse.Namespace) -> int:
    out = Path(args.out) if args.out else Path("reports") / args.profile
    select(args.ids or None)  # an unknown id is refused before anything else
    check_out(out)
    if args.device:
        as_device(args.device, "--device")
        os.environ["RANKCHECK_DEVICE"] = args.device  # sweep workers inherit it
    if args.data_root:
        found = available_datasets(args.data_root) if Path(args.data_root).is_dir() else []
        if not found:
            raise ValueError(f"--data-root {args.data_root!r} holds none of the datasets "
                             f"{sorted(DATASETS)} in PyTorch Geometric's layout "
                             "(<root>/<folder>/processed/data.pt)")
        os.environ["RANKCHECK_DATA_ROOT"] = str(Path(args.data_root).resolve())
    if args.dask or args.dask_scheduler:
        executor = ExecutorConfig("dask", args.jobs, args.dask_scheduler)
    else:
        executor = ExecutorConfig("processes" if args.jobs > 1 else "serial", args.jobs)
    if args.dask_scheduler:
        try:
            check_scheduler(args.dask_scheduler)
        except InfrastructureError as err:
            print(f"error: {err}; no claim was run", file=sys.stderr)
            return 3
    try:
        verdicts = run(args.ids or None, profile=args.profile, seed=args.seed, out=out,
                       show_progress=not args.quiet, executor=executor)
    except KeyboardInterrupt:
        finished = len(load_report(out)[1]) if (out / "report.json").is_file() else 0
        print(f"interrupted: the report in {out} holds the claims finished before (rerun the same "
              f"command to resume; finished sweep cases are kept)" if finished else
              f"interrupted before any claim finished (finished sweep cases are kept in {out})",
              file=sys.stderr)
        return 130
    print(format_table(verdicts))
    print(f"report: {out / 'report.html'} (and report.md, report.json)")
    if verdicts and verdicts[-1].status == "error":
        meta, _ = load_report(out)
        print(f"stopped: {verdicts[-1].claim_id} hit a fault of the machinery, not of the theorem "
              f"({verdicts[-1].details.get('reason', '')}); not run: {', '.join(meta['not_run']) or '-'}",
              file=sys.stderr)
        return 3
    return 1 if any(v.status == "fail" for v in verdicts) and not args.exit_zero else 0


def _show(args: argparse.Namespace) -> int:
    (item,) = [c for c in select([args.id]) if c.id == args.id] or [None]
    if item is None:
        raise UnknownClaimError(f"{args.id!r} is a family prefix, not a claim id")
    print(f"{item.id}\n\n{textwrap.fill(item.statement, 100)}\n\nsource: {item.source}")
    print(f"negative control: {item.broken_how}")
    print("\nfiles:")
    for role, paths in item.files().items():
        print(f"  {role:<10} {', '.join(paths) or '(not installed: see the source repository)'}")
    print("\nroutes (read from the code):")
    for role, names in claim_routes(item.predict, item.check).items():
        print(f"  {role:<11} {', '.join(n.removeprefix('rankcheck.') for n in names) or '(none)'}")
    folder = Path(args.out) if args.out else None
    folders = [folder] if folder else [Path("reports") / p for p in PROFILES]
    found = []
    for path in folders:
        if (path / "report.json").exists():
            meta, verdicts = load_report(path)
            found += [(meta, v) for v in verdicts if v.claim_id == item.id]
    if not found:
        print("\nno verdict recorded yet (run: rankcheck run " + item.id + ")")
    for meta, verdict in found:
        print(f"\nlast verdict ({meta.get('finished')}, profile {verdict.profile}, "
              f"seed {verdict.seed}): {verdict.status}, control {verdict.control}, "
              f"{verdict.seconds:.1f} s")
        print(f"  predicted {brief(verdict.predicted)}\n  measured  {brief(verdict.measured)}\n"
              f"  tolerance {verdict.tolerance}")
        if "reason" in verdict.details:
            print(f"  reason: {verdict.details['reason']}")
    return 0


def _report_folder(args: argparse.Namespace) -> Path | None:
    """``args.out`` when it holds a report.json; else None, with the error printed."""
    out = Path(args.out)
    if (out / "report.json").is_file():
        return out
    print(f"error: no report.json in {out} (write one with: rankcheck run --out {out})", file=sys.stderr)
    return None


def _report(args: argparse.Namespace) -> int:
    out = _report_folder(args)
    if out is None:
        return 2
    meta, verdicts = load_report(out)
    write_pages(meta, verdicts, out)
    print(f"report: {out / 'report.html'} (and report.md), rebuilt from {out / 'report.json'}")
    return 0


def _audit(args: argparse.Namespace) -> int:
    out = _report_folder(args)
    if out is None:
        return 2
    _, verdicts = load_report(out)
    rows = tolerance_audit(verdicts, args.factor)
    print(format_audit(rows, args.factor, markdown=args.markdown))
    return 0


def _sweeps(args: argparse.Namespace) -> int:
    path = Path(args.dir)
    database = path / "sweeps.sqlite" if path.is_dir() else path
    if not database.exists():
        print(f"error: no sweeps database at {database}", file=sys.stderr)
        return 2
    with SweepStore(database) as store:
        rows = store.summary()
        print(f"{'sweep':<48} {'done':>6} {'errors':>6} {'case-seconds':>12}  last finished")
        for row in rows:
            print(f"{row['sweep']:<48} {row['ok']:>6} {row['errors']:>6} {row['seconds']:>12.1f}"
                  f"  {row['last']}")
        for sweep, params, error in store.errors():
            print(f"\nfailed case of {sweep}: {params}\n{error.rstrip().splitlines()[-1]}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The ``rankcheck`` argument parser (sub-commands ``list``, ``run``, ``report``, ``audit``,
    ``sweeps``, ``show``).

    Returns
    -------
    argparse.ArgumentParser
    """
    parser = argparse.ArgumentParser(prog="rankcheck", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="ids, statements and sources").set_defaults(func=_list)
    runner = commands.add_parser("run", help="run claims and write a report")
    runner.add_argument("ids", nargs="*", help="claim ids or family prefixes (default: all)")
    runner.add_argument("--profile", choices=PROFILES, default="quick")
    runner.add_argument("--seed", type=int, default=0)
    runner.add_argument("--out", help="report folder (default reports/<profile>)")
    runner.add_argument("--quiet", action="store_true", help="no progress on stderr")
    runner.add_argument("--exit-zero", action="store_true",
                        help="exit 0 even when a claim fails: the report is the product (make run)")
    runner.add_argument("--jobs", type=int, default=1,
                        help="sweep workers: a local process pool when > 1 (or Dask workers)")
    runner.add_argument("--device", help="torch device of the trainings that take one (e.g. cuda; "
                        "default cpu); sets RANKCHECK_DEVICE for the run and its workers")
    runner.add_argument("--data-root", metavar="PATH",
                        help="a folder of PyTorch Geometric datasets (Cora, DBLP, …, never downloaded): "
                        "gnn.wis_preserves_interactions also judges WIS on each; sets RANKCHECK_DATA_ROOT")
    runner.add_argument("--dask", action="store_true", help="run sweeps on an embedded LocalCluster")
    runner.add_argument("--dask-scheduler", metavar="ADDRESS",
                        help="run sweeps on an existing Dask cluster (e.g. tcp://host:8786)")
    runner.set_defaults(func=_run)
    report = commands.add_parser("report", help="rebuild report.html and report.md from report.json")
    report.add_argument("out", help="a report folder holding report.json (and the figures)")
    report.set_defaults(func=_report)
    audit = commands.add_parser("audit", help="each tolerance of a report against the worst error it bounds")
    audit.add_argument("out", help="a report folder holding report.json")
    audit.add_argument("--factor", type=float, default=5.0,
                       help="flag tolerances more than this many times the worst error (default 5)")
    audit.add_argument("--markdown", action="store_true", help="a Markdown table (for the notes)")
    audit.set_defaults(func=_audit)
    sweeps = commands.add_parser("sweeps", help="summarize a sweeps database (or its folder)")
    sweeps.add_argument("dir")
    sweeps.set_defaults(func=_sweeps)
    show = commands.add_parser("show", help="statement, source, files and last verdict of a claim")
    show.add_argument("id")
    show.add_argument("--out", help="report folder to read (default reports/quick and reports/full)")
    show.set_defaults(func=_show)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line.

    Parameters
    ----------
    argv : list of str, optional
        Default ``sys.argv[1:]``.

    Returns
    -------
    int
        The exit status: 0, 1 when a claim fails (without ``--exit-zero``), 2 on bad input, 3 when
        the machinery failed (a claim's verdict ``error``, an unreachable scheduler), 130 on Ctrl-C.
    """
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ValueError as err:  # UnknownClaimError included; bad --jobs and the like
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
