"""rankcheck works outside the checkout: build the wheel, install it into a fresh virtual environment,
import a solver and run a property test written as another project would, from a temporary folder.

Offline: the wheel is built without build isolation (setuptools comes with the dev extra), and the
fresh environment installs it with ``--no-deps`` while seeing this environment's site-packages (for
numpy, torch, hypothesis, ...) through a ``.pth`` line, appended after its own site-packages: the
``rankcheck`` it imports is the wheel's, not the editable checkout.
"""

import shutil
import site
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

def readme_client_test() -> str:
    """The property test of the README's "Using rankcheck from another project", as written there:
    the test runs the documentation's own example, so the two cannot drift apart."""
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Using rankcheck from another project"):]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


#: a client project's own Hypothesis settings (derandomized; no deadline: the first example imports
#: torch and compiles, and a loaded machine missed the 200 ms default)
CLIENT_CONFTEST = textwrap.dedent('''
    from hypothesis import settings

    settings.register_profile("client", derandomize=True, database=None, deadline=None,
                              max_examples=20)
    settings.load_profile("client")
''')
CLIENT_CHECK = textwrap.dedent('''


    def test_imports_come_from_the_wheel():
        import rankcheck

        assert "site-packages" in rankcheck.__file__
''')


#: what a copy of the checkout leaves out: environments, build outputs, reports, caches, mutants
NOT_SOURCE = shutil.ignore_patterns(".venv", ".git", ".mutate", "build", "dist", "reports", "*.egg-info",
                                    "__pycache__", ".hypothesis", ".pytest_cache", ".ruff_cache")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel built from a clean copy of the checkout (tests and notes included in the copy:
    the packaging configuration is what leaves them out), so no stale ``build/`` folder leaks in."""
    source = tmp_path_factory.mktemp("source") / "rankcheck"
    shutil.copytree(ROOT, source, ignore=NOT_SOURCE)
    folder = tmp_path_factory.mktemp("dist")
    call([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q",
          "-w", str(folder), str(source)], folder)
    (built,) = folder.glob("rankcheck-*.whl")
    return built


def call(command: list[str], cwd: Path) -> str:
    """Run a command; on failure, the assertion shows its output (stdout and stderr)."""
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    assert result.returncode == 0, f"{command} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def source_of(name: str) -> Path:
    """The checkout's file that a wheel entry under ``rankcheck/`` is built from."""
    parts = name.split("/")
    if len(parts) > 2 and parts[1] in ("theory", "numerics", "proofs_checks"):
        return ROOT.joinpath(*parts[1:])
    return ROOT.joinpath(*parts)


def test_wheel_ships_the_namespace_and_nothing_else(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    tops = {name.split("/")[0] for name in names}
    assert tops == {"rankcheck", wheel.name.split("-py3")[0] + ".dist-info"}, tops
    modules = [name for name in names if name.startswith("rankcheck/")]
    assert all(source_of(name).is_file() for name in modules), [
        name for name in modules if not source_of(name).is_file()]
    shipped = {name for name in modules if name.endswith(".py")}
    expected = {f"rankcheck/{path.relative_to(ROOT / folder).as_posix()}" if folder == "rankcheck"
                else f"rankcheck/{folder}/{path.relative_to(ROOT / folder).as_posix()}"
                for folder in ("rankcheck", "theory", "numerics", "proofs_checks")
                for path in (ROOT / folder).rglob("*.py") if "__pycache__" not in path.parts}
    assert shipped == expected
    for module in ("rankcheck/__init__.py", "rankcheck/theory/dln.py", "rankcheck/numerics/gnn/walks.py",
                   "rankcheck/proofs_checks/registry.py", "rankcheck/strategies.py",
                   "rankcheck/testing.py", "rankcheck/numerics/py.typed",
                   "rankcheck/proofs_checks/templates/report.html.j2"):
        assert module in names, module
    assert not [n for n in names if "/tests/" in n or n.startswith("tests/") or n.endswith(".md")
                and "dist-info" not in n], "the wheel ships tests or notes"


def test_installed_wheel_runs_a_solver_and_a_property_test(wheel, tmp_path):
    venv = tmp_path / "venv"
    call([sys.executable, "-m", "venv", "--without-pip", str(venv)], tmp_path)
    python = venv / "bin" / "python"
    call([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index", "-q",
          str(wheel)], tmp_path)
    purelib = call([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], tmp_path)
    (Path(purelib.strip()) / "zz_host_packages.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    work = tmp_path / "elsewhere"
    work.mkdir()
    solver = ("from rankcheck.numerics.gnn import walks; import numpy as np; "
              "e = np.array([[0, 1, 1, 2], [1, 0, 2, 1]]); "
              "print(walks.walk_index(e, [0], depth=3), walks.singleton_walk_indices(e, 3).tolist())")
    # path 0–1–2 with self-loops: the boundary of {0} is {0, 1}, with 5 and 7 walks of length 2
    # (row sums of Â²); singletons: the diagonal of Â³
    assert call([str(python), "-c", solver], work).split("\n")[0] == "12 [4, 7, 4]"
    (work / "conftest.py").write_text(CLIENT_CONFTEST)
    (work / "test_client.py").write_text(readme_client_test() + CLIENT_CHECK)
    tests = call([str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_client.py"], work)
    assert "3 passed" in tests
    assert "gnn.walk_index" in call([str(python), "-m", "rankcheck", "list"], work)
    page = ("from pathlib import Path; from rankcheck.proofs_checks.html import render_html; "
            "print(render_html({}, [], Path('.')).splitlines()[0])")
    assert call([str(python), "-c", page], work).strip() == "<!DOCTYPE html>"  # the template ships
