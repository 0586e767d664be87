"""Vyper review aids (`make lint`): every deployable's storage layout checked against the
committed one in docs/storage-layout/ (a changed slot in an upgraded or redeployed contract is
a bug a reviewer must see); a deployable and its delegated extension share one layout
(docs/architecture.md); every deployable is built with Vyper's default code generator and its
code size stays under 80% of the 24,576-byte EIP-170 limit (docs/spec.md §10) — the
*initcode* for the factory's ERC-5202 blueprints, whose runtime code is the 3-byte preamble
plus the initcode.

    python -m synthequity.tools.contract_review            # check (exit 1 on a change)
    python -m synthequity.tools.contract_review --update   # accept the current layouts and ABIs
"""

from __future__ import annotations

import argparse
import difflib
import functools
import hashlib
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
# docs/spec.md §10: >= 20% headroom, so that each deployable has room for what comes next
SIZE_LIMIT = EIP170 * 80 // 100  # 19,660 bytes
BLUEPRINTS = {  # SynthFactory's
    "SynthVault",
    "SynthVaultExt",
    "SynthToken",
    "PerpMarket",
    "PerpMarketExt",
    "LiquidityPool",
}
# A deployable and the extension it delegatecalls into: one storage layout.
SHARED_STORAGE = {"PerpMarketExt": "PerpMarket", "SynthVaultExt": "SynthVault"}
EXPERIMENTAL = "experimental-codegen"
ROOT = Path(__file__).resolve().parents[2]
LAYOUT_DIR = ROOT / "docs" / "storage-layout"
ABI_DIR = ROOT / "docs" / "abi"


@dataclass(frozen=True)
class Build:
    name: str
    path: Path
    layout: dict
    initcode: int
    runtime: int
    abi: tuple = ()

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


def _sources_digest() -> str:
    """What a build depends on: every contract and interface source (a module edit changes
    the deployables that import it)."""
    h = hashlib.sha256()
    for p in sorted([*(ROOT / "contracts").rglob("*.vy"), *(ROOT / "interfaces").rglob("*.vyi")]):
        h.update(p.as_posix().encode() + b"\0" + p.read_bytes())
    return h.hexdigest()


def build(path: Path) -> Build:
    """One deployable compiled by the pinned vyper (cached per process while no source
    changes: the review's tests run it several times)."""
    return _build(path, _sources_digest())


@functools.lru_cache(maxsize=64)
def _build(path: Path, digest: str) -> Build:
    out = subprocess.run(
        ["vyper", "-f", "layout,bytecode,bytecode_runtime,abi", str(path.relative_to(ROOT))],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.splitlines()
    layout = json.loads(out[0])
    kept = {k: layout[k] for k in ("storage_layout", "transient_storage_layout") if k in layout}
    abi = tuple(json.loads(out[3]))
    return Build(path.stem, path, kept, (len(out[1]) - 2) // 2, (len(out[2]) - 2) // 2, abi)


def interface_abis(builds: list[Build]) -> dict[str, list[dict]]:
    """The whole interface at each extended deployable's address — its ABI plus its
    extension's (what users, keepers and the dapp call): docs/abi/<name>.json."""
    from synthequity.contracts import merge_abis

    by_name = {b.name: b for b in builds}
    return {
        own: merge_abis(list(by_name[own].abi), list(by_name[ext].abi))
        for ext, own in SHARED_STORAGE.items()
    }


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

    table = Table(
        title=f"code size vs the 80% line ({SIZE_LIMIT:,} bytes) of EIP-170 ({EIP170:,}), "
        "default code generator"
    )
    cols = ("contract", "deployed as", "initcode", "runtime", "counted", "% of EIP-170", "headroom")
    for col in cols:
        table.add_column(col, justify="left" if col in ("contract", "deployed as") else "right")
    too_big, over_line = [], []
    for b in builds:
        room = SIZE_LIMIT - b.limited
        if b.limited > EIP170:
            too_big.append(b.name)
        elif room < 0:
            over_line.append(b.name)
        table.add_row(
            b.name,
            "blueprint" if b.name in BLUEPRINTS else "contract",
            f"{b.initcode:,}",
            f"{b.runtime:,}",
            f"{b.limited:,}",
            f"{100 * b.limited / EIP170:.1f}%",
            f"{room:,}" if room >= 0 else f"[red]{room:,}[/]",
        )
    console.print(table)
    venom = [p.stem for p in deployables() if EXPERIMENTAL in p.read_text()]
    by_name = {b.name: b for b in builds}
    split = [
        ext
        for ext, own in SHARED_STORAGE.items()
        if by_name[ext].layout.get("storage_layout") != by_name[own].layout.get("storage_layout")
    ]

    changed = []
    abis = [(ABI_DIR / f"{n}.json", render(a)) for n, a in interface_abis(builds).items()]
    stale_abis = [p.name for p, now in abis if not p.exists() or p.read_text() != now]
    if opts.update:
        ABI_DIR.mkdir(parents=True, exist_ok=True)
        for p, now in abis:
            p.write_text(now)
        stale_abis = []
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
    if over_line:
        console.print(f"[red]over the 80% line[/] ({SIZE_LIMIT:,} bytes): {', '.join(over_line)}")
    if venom:
        console.print(f"[red]built with the {EXPERIMENTAL}[/]: {', '.join(venom)}")
    if split:
        console.print(f"[red]storage differs from its deployable's[/]: {', '.join(split)}")
    if stale_abis:
        console.print(
            f"[red]interface changed[/]: docs/abi/{', '.join(stale_abis)} — `make layout` "
            "writes it; commit it with the change"
        )
    return 1 if changed or too_big or over_line or venom or split or stale_abis else 0


if __name__ == "__main__":
    sys.exit(main())
