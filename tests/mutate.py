"""``make mutate``: the mutation score of theory/ and numerics/, measured with cosmic-ray.

Each module of ``MODULES`` is mutated one change at a time (cosmic-ray's operators: a ``+`` for a
``-``, a comparison turned around, a constant changed, …) and its fast unit tests are run against
every mutant; a mutant the tests still pass *survived*. The mutants are applied in a scratch
worktree of the current commit (``.mutate/tree``, with a copy of ``.venv`` installed editable
there), never in the checkout, and each module's results are kept in ``.mutate/<module>.sqlite``,
so an interrupted run resumes where it stopped. The report (``.mutate/report.md``) gives the kill
rate per module and every survivor with its line and operator, for triage (equivalent mutant, or a
missing check). Slow — about 10 s per mutant — so not part of CI.

Usage: ``python -m tests.mutate [MODULE ...]`` (default: every module of ``MODULES``).
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / ".mutate"
TREE = WORK / "tree"

#: module -> the pytest arguments of its fast unit tests (run from the worktree)
MODULES = {
    "theory/compositionality.py": ["tests/test_compositionality.py", "-k",
                                   "amgm or one_neuron or composition_exponent or part_exponents or kink"],
    "numerics/compositionality/scaling.py": ["tests/test_compositionality.py", "-k",
                                             "scaling or exponent_difference"],
}


def _run(*command: str, cwd: Path = ROOT) -> None:
    subprocess.run(command, cwd=cwd, check=True)


def prepare_tree() -> None:
    """The scratch worktree at the current commit, with its own editable install."""
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, check=True, capture_output=True,
                          text=True).stdout.strip()
    if not TREE.exists():
        _run("git", "worktree", "add", "--detach", str(TREE), head)
    else:
        _run("git", "checkout", "--detach", "--force", head, cwd=TREE)
    venv = TREE / ".venv"
    if not venv.exists():
        shutil.copytree(ROOT / ".venv", venv, symlinks=True)
        _run(str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "-e", str(TREE), "--no-deps",
             "--no-build-isolation", cwd=TREE)


def _config(module: str, tests: list[str]) -> Path:
    command = " ".join([".venv/bin/python", "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider",
                        *[f"'{t}'" if " " in t else t for t in tests]])
    path = WORK / (module.replace("/", "_") + ".toml")
    path.write_text(f'[cosmic-ray]\nmodule-path = "{module}"\ntimeout = 120.0\nexcluded-modules = []\n'
                    f'test-command = "{command}"\n\n'
                    '[cosmic-ray.distributor]\nname = "local"\n')
    return path


def mutate(module: str) -> Path:
    """Run (or resume) the mutants of ``module``; returns its results database."""
    config = _config(module, MODULES[module])
    database = config.with_suffix(".sqlite")
    cosmic = str(Path(sys.executable).parent / "cosmic-ray")
    if not database.exists():
        _run(cosmic, "init", str(config), str(database), cwd=TREE)
    _run(cosmic, "exec", str(config), str(database), cwd=TREE)
    return database


def summary(module: str, database: Path) -> list[str]:
    """The kill rate of ``module`` and its survivors, as Markdown lines."""
    with sqlite3.connect(database) as db:
        rows = db.execute("select s.start_pos_row, s.operator_name, s.definition_name, r.test_outcome "
                          "from mutation_specs s join work_results r on s.job_id = r.job_id").fetchall()
        pending = db.execute("select count(*) from work_items").fetchone()[0] - len(rows)
    killed = sum(outcome == "killed" for *_, outcome in rows)
    survived = sorted((line, op, name) for line, op, name, outcome in rows if outcome == "survived")
    rate = killed / len(rows) if rows else float("nan")
    lines = [f"## `{module}`: {killed} of {len(rows)} killed ({rate:.0%}), {len(survived)} survived"
             + (f", {pending} not run" if pending else ""), ""]
    lines += [f"- line {line}, `{name}`: {op.removeprefix('core/')}" for line, op, name in survived]
    return [*lines, ""]


def main(argv: list[str]) -> int:
    unknown = [m for m in argv if m not in MODULES]
    if unknown:
        print(f"error: not in tests/mutate.py's MODULES: {unknown}", file=sys.stderr)
        return 2
    WORK.mkdir(exist_ok=True)
    prepare_tree()
    report = ["# Mutation score (cosmic-ray)", ""]
    for module in argv or list(MODULES):
        report += summary(module, mutate(module))
    (WORK / "report.md").write_text("\n".join(report))
    print("\n".join(report))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
