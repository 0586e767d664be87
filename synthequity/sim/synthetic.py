"""A stated synthetic daily price path around real dividend dates (issue 21): the repo has no
AAPL or NVDA prices, and nothing here may download them, so the dividend replay runs on a
seeded geometric Brownian motion of the *quoted* price whose ex-date opens drop by the
dividend, as an exchange's do (the reference price is the last close minus the dividend).

    python -m synthequity.sim.synthetic --dividends data/aapl_dividends.csv \\
        --start 2023-01-03 --end 2023-12-29 --s0 125 --sigma 0.25 --seed 1 \\
        --out data/aapl_2023_synthetic.csv

What is real: the ex-dates and amounts (data/aapl_dividends.csv, with their source) and the
NYSE sessions. What is not: every price. The file's rows are `date,open,high,low,close` as
data/tsla_daily.csv's, so the market replay (`--csv`) reads it unchanged; its name gives the
replayed symbol (AAPL).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import itertools
import math
import random
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

from synthequity.corporate_actions import Dividend, load_dividends
from synthequity.market_hours import nyse

TRADING_DAYS = 252
CENT = Decimal("0.0001")  # the file's precision (data/tsla_daily.csv's)


@dataclass(frozen=True)
class Bar:
    day: dt.date
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal


def _q(x: float) -> Decimal:
    return Decimal(repr(x)).quantize(CENT, rounding=ROUND_HALF_EVEN)


def dividend_path(
    start: dt.date,
    end: dt.date,
    s0: float,
    sigma_annual: float,
    seed: int,
    dividends: tuple[Dividend, ...],
) -> list[Bar]:
    """One bar per NYSE session in [start, end]: the overnight move (a third of the day's
    variance) then the session's (the rest), lognormal with zero drift; on an ex-date the
    open is the last close minus the dividend, moved by that night's return. High and low
    wrap the open and close by a seeded fraction of the day's volatility."""
    rng = random.Random(seed)
    daily = sigma_annual / math.sqrt(TRADING_DAYS)
    by_day = {d.ex_date: float(d.amount) for d in dividends}
    bars: list[Bar] = []
    close = s0
    for day in nyse().sessions:
        if day < start or day > end:
            continue
        night = rng.gauss(-(daily**2) / 6, daily / math.sqrt(3))
        session = rng.gauss(-(daily**2) / 3, daily * math.sqrt(2 / 3))
        opened = (close - by_day.get(day, 0.0)) * math.exp(night)
        closed = opened * math.exp(session)
        wick = abs(rng.gauss(0, daily / 2))
        high = max(opened, closed) * (1 + wick)
        low = min(opened, closed) * (1 - wick)
        bars.append(Bar(day, _q(opened), _q(high), _q(low), _q(closed)))
        close = float(_q(closed))
    return bars


def total_return(bars: list[Bar], dividends: tuple[Dividend, ...]) -> float:
    """The stock's total return over the bars, each dividend reinvested at the ex-date's
    close (the usual index): Π (close_t + dividend_t) / close_{t-1}, from the first close.
    `model.replay.total_return_with_dividends` reinvests at the last close before the
    ex-date, as the oracle's factor does: the two differ by the dividend's fraction of the
    ex-date's own move."""
    by_day = {d.ex_date: d.amount for d in dividends}
    growth = Decimal(1)
    for prev, bar in itertools.pairwise(bars):
        growth *= (bar.close + by_day.get(bar.day, Decimal(0))) / prev.close
    return float(growth - 1)


def write_csv(bars: list[Bar], path: Path) -> None:
    with path.open("w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["date", "open", "high", "low", "close", "volume"])
        for b in bars:
            w.writerow([b.day.isoformat(), b.open, b.high, b.low, b.close, 0])


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dividends", default="data/aapl_dividends.csv")
    ap.add_argument("--start", default="2023-01-03")
    ap.add_argument("--end", default="2023-12-29")
    ap.add_argument("--s0", type=float, default=125.0, help="the first session's prior close")
    ap.add_argument("--sigma", type=float, default=0.25, help="annual volatility")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default="data/aapl_2023_synthetic.csv")
    a = ap.parse_args(argv)
    divs = load_dividends(Path(a.dividends))
    bars = dividend_path(
        dt.date.fromisoformat(a.start), dt.date.fromisoformat(a.end), a.s0, a.sigma, a.seed, divs
    )
    write_csv(bars, Path(a.out))
    crossed = [d for d in divs if bars[0].day < d.ex_date <= bars[-1].day]
    print(
        f"{a.out}: {len(bars)} sessions {bars[0].day}..{bars[-1].day}, {len(crossed)} ex-dates, "
        f"close {bars[0].close} -> {bars[-1].close}, total return "
        f"{total_return(bars, divs):+.2%}"
    )


if __name__ == "__main__":
    main()
