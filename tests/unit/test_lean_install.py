"""The runtime set (issue 16: what `make install-runtime` gives a keeper operator or a wallet
user) stays lean and complete: every third-party package the runtime code imports is declared
in `[project].dependencies` (not left to arrive through Ape), and the keepers' and wallet
commands' modules start without importing anything from the extras (titanoboa, matplotlib,
the test and sweep tools)."""

from __future__ import annotations

import ast
import importlib.metadata as md
import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEV_ONLY = {"sim", "testing", "dev", "tools"}  # synthequity's packages behind the extras
DEV_SCRIPTS = {"simulate.py", "bench.py", "bench_keepers.py", "report.py"}
# (pandas arrives with exchange-calendars, a runtime dependency; pyarrow is the sweep extra's
# but pandas imports it whenever it is installed: neither is checked here)
EXTRAS_ONLY = ("boa", "matplotlib", "hypothesis", "pytest", "pyrevm", "dask")


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _runtime_files() -> list[Path]:
    pkg = ROOT / "synthequity"
    files = [f for f in pkg.rglob("*.py") if f.relative_to(pkg).parts[0] not in DEV_ONLY]
    files += [f for f in (ROOT / "scripts").glob("*.py") if f.name not in DEV_SCRIPTS]
    return files


def _imported(files: list[Path]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for f in files:
        for node in ast.walk(ast.parse(f.read_text())):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for n in names:
                top = n.split(".")[0]
                if top not in sys.stdlib_module_names and top not in ("synthequity", "__future__"):
                    out.setdefault(top, set()).add(str(f.relative_to(ROOT)))
    return out


def test_every_package_the_runtime_imports_is_declared():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = {_norm(re.split(r"[<>=!~\[; ]", d, maxsplit=1)[0]) for d in project["dependencies"]}
    dists = md.packages_distributions()
    undeclared = {}
    for top, where in _imported(_runtime_files()).items():
        owners = {_norm(d) for d in dists.get(top, [top])}
        if not owners & declared:
            undeclared[top] = sorted(where)
    assert undeclared == {}, f"imported by the runtime but not in dependencies: {undeclared}"
    extras = {_norm(x) for x in ("titanoboa", "matplotlib", "hypothesis", "pyrevm", "dask")}
    assert not declared & extras  # they stay in the extras


def test_the_keepers_and_wallet_commands_start_without_the_extras():
    modules = (
        "synthequity.keepers.cli",
        "synthequity.keepers.oracle.cli",
        "synthequity.keepers.perp.runner",
        "synthequity.keepers.vault.runner",
        "synthequity.keepers.metrics",
        "synthequity.user.shell",
        "synthequity.user.sorted_list",
        "synthequity.deploy",
    )
    code = (
        f"import sys\nfor m in {modules!r}: __import__(m)\n"
        f"print(sorted(m for m in {EXTRAS_ONLY!r} if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2_000:]
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stdout
