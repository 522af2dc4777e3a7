"""The three routes stay independent (DESIGN.md): imports run one way only."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: theory may use the argument checks of numerics.validation (no mathematics lives there).
ALLOWED = {"theory": {"numerics.validation"}, "numerics": set(), "proofs_checks": set()}
FORBIDDEN = {"theory": ("numerics", "proofs_checks"), "numerics": ("theory", "proofs_checks"),
             "proofs_checks": ()}


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_routes_do_not_borrow_each_other(package):
    for path in (ROOT / package).rglob("*.py"):
        for name in imported_modules(path):
            top = name.split(".")[0]
            if top in FORBIDDEN[package] and name not in ALLOWED[package]:
                raise AssertionError(f"{path.relative_to(ROOT)} imports {name}")


def test_typed_packages_ship_py_typed():
    for package in FORBIDDEN:
        assert (ROOT / package / "py.typed").exists()


def test_ruff_is_clean():
    """The house style is enforced in CI, not only by ``make lint``."""
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "theory", "numerics", "proofs_checks", "tests"],
        cwd=ROOT, capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
