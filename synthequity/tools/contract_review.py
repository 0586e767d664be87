"""Vyper review aids (`make lint`, issue 8): every deployable's storage layout checked against
the committed one in docs/storage-layout/ (a changed slot in an upgraded or redeployed
contract is a bug a reviewer must see), and every deployable's code size against the
24,576-byte EIP-170 limit — the *initcode* for the factory's ERC-5202 blueprints, whose
runtime code is the 3-byte preamble plus the initcode.

    python -m synthequity.tools.contract_review            # check (exit 1 on a change)
    python -m synthequity.tools.contract_review --update   # accept the current layouts
"""

from __future__ import annotations

import argparse
import difflib
import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

EIP170 = 24_576
BLUEPRINT_PREAMBLE = 3  # 0xFE71 00
BLUEPRINTS = {"SynthVault", "SynthToken", "PerpMarket", "LiquidityPool"}  # SynthFactory's
ROOT = Path(__file__).resolve().parents[2]
LAYOUT_DIR = ROOT / "docs" / "storage-layout"


@dataclass(frozen=True)
class Build:
    name: str
    path: Path
    layout: dict
    initcode: int
    runtime: int

    @property
    def limited(self) -> int:
        """The bytes EIP-170 counts for this contract as the protocol deploys it."""
        return self.initcode + BLUEPRINT_PREAMBLE if self.name in BLUEPRINTS else self.runtime


def deployables() -> list[Path]:
    """CamelCase sources outside mocks/ (snake_case files are modules)."""
    return sorted(
        p
        for p in (ROOT / "contracts").rglob("*.vy")
        if p.stem[0].isupper() and "mocks" not in p.parts
    )


def build(path: Path) -> Build:
    out = subprocess.run(
        ["vyper", "-f", "layout,bytecode,bytecode_runtime", str(path.relative_to(ROOT))],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.splitlines()
    layout = json.loads(out[0])
    kept = {k: layout[k] for k in ("storage_layout", "transient_storage_layout") if k in layout}
    return Build(path.stem, path, kept, (len(out[1]) - 2) // 2, (len(out[2]) - 2) // 2)


def layout_file(name: str) -> Path:
    return LAYOUT_DIR / f"{name}.json"


def render(layout: dict) -> str:
    return json.dumps(layout, indent=2, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--update", action="store_true", help="write the current layouts")
    opts = args.parse_args(argv)
    console = Console()
    with ThreadPoolExecutor(max_workers=2) as pool:
        builds = list(pool.map(build, deployables()))

    table = Table(title=f"code size vs EIP-170 ({EIP170:,} bytes)")
    for col in ("contract", "deployed as", "initcode", "runtime", "counted", "headroom"):
        table.add_column(col, justify="left" if col in ("contract", "deployed as") else "right")
    too_big = []
    for b in builds:
        room = EIP170 - b.limited
        if room < 0:
            too_big.append(b.name)
        table.add_row(
            b.name,
            "blueprint" if b.name in BLUEPRINTS else "contract",
            f"{b.initcode:,}",
            f"{b.runtime:,}",
            f"{b.limited:,}",
            f"{room:,}" if room >= 0 else f"[red]{room:,}[/]",
        )
    console.print(table)

    changed = []
    for b in builds:
        path, now = layout_file(b.name), render(b.layout)
        if opts.update:
            LAYOUT_DIR.mkdir(parents=True, exist_ok=True)
            path.write_text(now)
            continue
        before = path.read_text() if path.exists() else ""
        if before != now:
            changed.append(b.name)
            sys.stdout.writelines(
                difflib.unified_diff(
                    before.splitlines(True), now.splitlines(True), str(path), "current"
                )
            )
    if opts.update:
        console.print(f"storage layouts written to {LAYOUT_DIR.relative_to(ROOT)}/")
    elif changed:
        console.print(
            f"[red]storage layout changed[/]: {', '.join(changed)} — review the diff; "
            "if intended, `make layout` and commit"
        )
    else:
        console.print(f"storage layouts unchanged ({len(builds)} deployables)")
    if too_big:
        console.print(f"[red]over EIP-170[/]: {', '.join(too_big)}")
    return 1 if changed or too_big else 0


if __name__ == "__main__":
    sys.exit(main())
