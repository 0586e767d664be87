"""Synthetic stress scenarios for the market replay (docs/design/replay.md): overnight gaps of
+60%, +140% and -60%, a one-print 1000x spike from a broken source, and a multi-day trading
halt that resumes 35% lower — each a few NYSE sessions of intraday prints, with a second,
independent "confirming" source (the same true price, its own small noise, printing 30 s
after the primary).

`python -m synthequity.sim.scenarios [--out data/scenarios]` writes them: the same seed gives
the same files byte for byte (tests/unit/test_scenarios.py checks the committed ones).

Files, per scenario NAME:
- `NAME.json`: symbol, description, window, the event and what the replay must show;
- `NAME.csv` (primary source) and `NAME.confirm.csv` (confirming source): `time,price,status`
  rows — ISO UTC time, USD price, OPEN / CLOSED / HALTED as the source reports it.
"""

from __future__ import annotations

import argparse
import bisect
import csv
import datetime as dt
import io
import itertools
import json
import math
import random
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path

from synthequity.constants import MarketStatus
from synthequity.keepers.oracle.sources import Quote
from synthequity.market_hours import MarketCalendar, nyse

DEFAULT_DIR = Path("data/scenarios")
# Print spacing: every 5 minutes for the first 30 minutes after an event, every 10 until
# 2 h 30 after it (the reopen targets, 30 min and 2 h, are measured at that resolution), hourly
# otherwise: a scenario is ~30 prints a source, a replay of it well under a minute.
FINE_S, FINE_FOR_S = 300, 30 * 60
MID_S, MID_FOR_S = 600, 150 * 60
COARSE_S = 3_600
CONFIRM_LAG_S = 30  # the confirming source prints this long after the primary
SIGMA_PER_SQRT_HOUR = 0.004  # intraday noise of the true price
CONFIRM_NOISE = 0.0003  # the confirming source's own error (3 bps, 1 sigma)


@dataclass(frozen=True)
class Print:
    t: int
    price: Decimal
    status: MarketStatus


@dataclass(frozen=True)
class Event:
    kind: str  # gap | spike | halt
    at: str  # ISO UTC: the first print that shows it
    move_pct: float  # the price's move at the event (spike: the broken print's)
    resumes: str = ""  # halt: when trading resumes (ISO UTC)


@dataclass(frozen=True)
class Spec:
    name: str
    symbol: str  # at most 5 characters (the factory's market key)
    description: str
    sessions: tuple[str, ...]  # NYSE sessions replayed, in order
    base_price: float
    seed: int
    event: Event
    fine_from: str  # ISO UTC: finer prints from here (FINE_S, then MID_S)


@dataclass
class Scenario:
    """A scenario as the replay reads it (`load`)."""

    name: str
    symbol: str
    description: str
    start: str  # first session (YYYY-MM-DD)
    end: str  # last session
    event: Event
    primary: list[Print] = field(default_factory=list)
    confirm: list[Print] = field(default_factory=list)
    path: Path | None = None


SPECS: tuple[Spec, ...] = (
    Spec(
        "gap_up_60",
        "UP60",
        "+60% overnight gap (a squeeze): shorts under water at the open",
        ("2023-03-07", "2023-03-08"),
        80.0,
        60,
        Event("gap", "2023-03-08T14:30:00Z", 60.0),
        "2023-03-08T14:30:00Z",
    ),
    Spec(
        "gap_up_140",
        "UP140",
        "+140% overnight gap (a buyout or a squeeze): shorts wiped out, bad debt",
        ("2023-03-14", "2023-03-15"),
        40.0,
        140,
        Event("gap", "2023-03-15T13:30:00Z", 140.0),
        "2023-03-15T13:30:00Z",
    ),
    Spec(
        "gap_down_60",
        "DN60",
        "-60% overnight gap (failed trial, fraud report): longs wiped out, bad debt",
        ("2023-03-21", "2023-03-22"),
        120.0,
        -60,
        Event("gap", "2023-03-22T13:30:00Z", -60.0),
        "2023-03-22T13:30:00Z",
    ),
    Spec(
        "spike_1000x",
        "SPIKE",
        "one print 1000x the price from a broken primary source, then back (sKRW 2019)",
        ("2023-03-28", "2023-03-29"),
        150.0,
        1000,
        Event("spike", "2023-03-28T15:00:00Z", 99_900.0),
        "2023-03-28T14:30:00Z",
    ),
    Spec(
        "halt_multiday",
        "HALT",
        "trading halted from 13:30 for two days, resumes 35% lower (a news pending halt)",
        ("2023-04-03", "2023-04-04", "2023-04-05"),
        60.0,
        35,
        Event("halt", "2023-04-03T17:30:00Z", -35.0, resumes="2023-04-05T14:00:00Z"),
        "2023-04-05T14:00:00Z",
    ),
)


def iso(t: int) -> str:
    return dt.datetime.fromtimestamp(t, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def from_iso(s: str) -> int:
    return int(dt.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp())


def _print_times(spec: Spec, cal: MarketCalendar) -> list[tuple[int, bool]]:
    """(time, is_close) of every primary print: hourly in each session from the open, finer
    from `fine_from` (5 then 10 minutes apart), and the close."""
    lo = from_iso(spec.fine_from)
    out: list[tuple[int, bool]] = []
    for day in spec.sessions:
        session = cal.session(dt.date.fromisoformat(day))
        if session is None:
            raise ValueError(f"{spec.name}: {day} is not an NYSE session")
        open_t, close_t = session
        t = open_t
        while t < close_t:
            out.append((t, False))
            if lo <= t < lo + FINE_FOR_S:
                nxt = t + FINE_S
            elif lo <= t < lo + MID_FOR_S:
                nxt = t + MID_S
            else:
                nxt = t + COARSE_S
            t = lo if t < lo < nxt else nxt  # land on the event's first print
        out.append((close_t, True))
    return out


def generate(spec: Spec, cal: MarketCalendar | None = None) -> Scenario:
    """The scenario's two series from its seed: a true price (log-normal noise per print,
    the event applied at its time), the primary source's prints of it (and its broken print,
    for a spike), the confirming source's prints 30 s later with their own small noise."""
    cal = cal or nyse()
    rng = random.Random(spec.seed)
    noise = random.Random(spec.seed + 1_000_003)
    ev = spec.event
    at = from_iso(ev.at)
    resumes = from_iso(ev.resumes) if ev.resumes else 0
    primary: list[Print] = []
    confirm: list[Print] = []
    price = spec.base_price
    last_t: int | None = None  # the previous print of the same session (None at an open)
    gapped = False
    for t, is_close in _print_times(spec, cal):
        halted = ev.kind == "halt" and at <= t < resumes
        if last_t is not None and not halted:
            hours = (t - last_t) / 3_600
            price *= math.exp(rng.gauss(0.0, SIGMA_PER_SQRT_HOUR * math.sqrt(hours)))
        if not gapped and ev.kind in ("gap", "halt") and t >= (resumes if resumes else at):
            price *= 1 + ev.move_pct / 100
            gapped = True
        if is_close:
            status = MarketStatus.CLOSED
        elif halted:
            status = MarketStatus.HALTED
        else:
            status = MarketStatus.OPEN
        shown = price * (1 + ev.move_pct / 100) if ev.kind == "spike" and t == at else price
        primary.append(Print(t, _usd(shown), status))
        confirm.append(
            Print(t + CONFIRM_LAG_S, _usd(price * (1 + noise.gauss(0.0, CONFIRM_NOISE))), status)
        )
        last_t = None if is_close or halted else t
    return Scenario(
        spec.name,
        spec.symbol,
        spec.description,
        spec.sessions[0],
        spec.sessions[-1],
        ev,
        primary,
        confirm,
    )


def _usd(x: float) -> Decimal:
    return Decimal(f"{x:.4f}")


def _csv(prints: list[Print]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["time", "price", "status"])
    for p in prints:
        w.writerow([iso(p.t), f"{p.price}", p.status.name])
    return buf.getvalue()


def files(sc: Scenario) -> dict[str, str]:
    """File name -> content of a scenario."""
    meta = {
        "name": sc.name,
        "symbol": sc.symbol,
        "description": sc.description,
        "start": sc.start,
        "end": sc.end,
        "event": asdict(sc.event),
        "primary": f"{sc.name}.csv",
        "confirm": f"{sc.name}.confirm.csv",
        "confirm_lag_s": CONFIRM_LAG_S,
        "generator": "python -m synthequity.sim.scenarios",
    }
    return {
        f"{sc.name}.json": json.dumps(meta, indent=2) + "\n",
        f"{sc.name}.csv": _csv(sc.primary),
        f"{sc.name}.confirm.csv": _csv(sc.confirm),
    }


def write_all(out: Path = DEFAULT_DIR) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    cal = nyse()
    for spec in SPECS:
        for name, text in files(generate(spec, cal)).items():
            path = out / name
            path.write_text(text)
            written.append(path)
    return written


# ---- reading ------------------------------------------------------------------------------


def read_prints(path: str | Path) -> list[Print]:
    """A `time,price,status` file, in time order."""
    out = []
    with open(path, newline="") as fh:
        for row in csv.DictReader(fh):
            out.append(
                Print(from_iso(row["time"]), Decimal(row["price"]), MarketStatus[row["status"]])
            )
    if not out:
        raise ValueError(f"{path}: no prints")
    if any(b.t <= a.t for a, b in itertools.pairwise(out)):
        raise ValueError(f"{path}: prints out of time order")
    return out


def load(path: str | Path) -> Scenario:
    """A scenario from its `NAME.json` (the series next to it)."""
    p = Path(path)
    meta = json.loads(p.read_text())
    return Scenario(
        meta["name"],
        meta["symbol"],
        meta["description"],
        meta["start"],
        meta["end"],
        Event(**meta["event"]),
        read_prints(p.parent / meta["primary"]),
        read_prints(p.parent / meta["confirm"]) if meta.get("confirm") else [],
        p,
    )


class PrintReplaySource:
    """A `PriceSource` over recorded prints: at `now`, the latest print at or before it,
    observed at `now` (a source polled between its prints still quotes its last one, as
    `CsvReplaySource` does), None before the first."""

    def __init__(self, prints: list[Print], name: str):
        self.prints = prints
        self.name = name
        self._times = [p.t for p in prints]

    def quote(self, now: int) -> Quote | None:
        i = bisect.bisect_right(self._times, now) - 1
        if i < 0:
            return None
        p = self.prints[i]
        return Quote(p.price, now, p.status, self.name)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_DIR)
    args = ap.parse_args(argv)
    for path in write_all(args.out):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
