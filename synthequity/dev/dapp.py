"""`make dapp`: a local chain with the protocol deployed, the oracle keeper printing a seeded
GBM, the order and liquidation keepers, and the wallet dapp served on 127.0.0.1 — so that a
person with a browser wallet can mint, trade and provide liquidity at any hour of their day.

The chain's clock runs *inside an NYSE session* (docs/spec.md §5): anvil starts at a session's
open (the one in progress, else the latest), and when the session's close comes near, the clock
jumps to the next open, so the market never closes by itself. The page's dev panel moves the
clock on purpose (to the close, to a weekend, back to an open), halts or shocks the price, and
pays a cash dividend over a night (`/dev/*` on the app's own server — this driver, not the
static dapp, answers them). The oracle keeper runs in this process, ticking at the chain's
time rather than the wall's; the order and liquidation keepers are the `ape run keeper`
commands an operator types.

    python -m synthequity.dev.dapp [--port 8610] [--app-port 8611] [--seed 7]
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
from concurrent.futures import Future
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from synthequity.constants import MarketStatus
from synthequity.dev.devchain import MNEMONIC, Anvil, rpc
from synthequity.keepers.oracle.sources import GbmSource, Quote
from synthequity.market_hours import MarketCalendar, nyse, utc

NETWORK = "ethereum:local:foundry"
DIST = Path("dapp/dist")
SYMBOL = "TSLA"
TRADER = 2  # TEST::2: the account a person imports into their wallet
LP = 9  # TEST::9 seeds the pool, so that perps can open at once
LP_SEED_USD = 90_000
# TEST::8 borrows in the background: touching its position now and then mints its stability
# fee to the insurance fund, which sells that synth to borrowers short of it for a full
# repay (`buy_fee_synth`): a lone borrower could never close (its own fee reaches the fund
# only when its close is mined).
BORROWER, BORROWER_USD, BORROWER_TOUCH_S = 8, 60_000, 10
ORDER_KEEPER, LIQUIDATION_KEEPER = 5, 6
ROLLOVER_S = 120  # jump to the next open this long before a session's close
AFTER_OPEN_S = 60  # where a jump to an open lands
ADMIN = 0  # TEST::0 deployed the protocol: DEFAULT_ADMIN, who may stage a dividend at once
MAX_DIVIDEND_PCT = Decimal(10)  # an ordinary dividend's bound on the oracle (above: special)
JOB_TIMEOUT_S = 60


def test_key(index: int) -> str:
    """The private key of anvil's test account `index` (its public mnemonic)."""
    from eth_account import Account

    Account.enable_unaudited_hdwallet_features()
    acct = Account.from_mnemonic(MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}")
    return "0x" + bytes(acct.key).hex()


def session_start(calendar: MarketCalendar, now: int) -> int | None:
    """Where the chain's clock starts: None (the real clock) inside a session with more than
    an hour left, else a minute after the latest session's open."""
    i = calendar.session_index_at(now)
    if i is not None and calendar.closes[i] - now > 3_600:
        return None
    j = calendar.last_closed_session(now)
    assert j is not None, "the calendar starts before today"
    return calendar.opens[j] + AFTER_OPEN_S


def next_weekend(ts: int) -> int:
    """The next Saturday, 15:00 UTC, after `ts`."""
    day = ts // 86_400
    weekday = (day + 3) % 7  # 1970-01-01 was a Thursday: 0 = Monday
    days = (5 - weekday) % 7 or 7
    return (day + days) * 86_400 + 15 * 3_600


@dataclass
class DevClock:
    """What the dev panel controls: the source's status override, a price multiplier, and
    whether the clock stays inside sessions (jumping over closes) or where it was moved."""

    calendar: MarketCalendar
    url: str  # anvil's
    in_session: bool = True
    halted: bool = False
    multiplier: Decimal = Decimal(1)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # work that needs the oracle keeper's thread (its Ape connection and its ticks)
    jobs: queue.Queue[tuple[str, Decimal, Future[dict[str, Any]]]] = field(
        default_factory=queue.Queue
    )

    def now(self) -> int:
        """The timestamp of the next block: the head's, or the node's clock if later."""
        block: Any = rpc(self.url, "eth_getBlockByNumber", ["pending", False])
        return int(block["timestamp"], 16)

    def jump(self, ts: int) -> None:
        if ts > self.now():
            rpc(self.url, "evm_setNextBlockTimestamp", [ts])
            rpc(self.url, "evm_mine")

    def move(self, to: str) -> dict[str, Any]:
        with self.lock:
            now = self.now()
            cal = self.calendar
            if to == "open":
                self.in_session, self.halted = True, False
                if cal.session_index_at(now) is None:
                    self.jump(cal.next_open(now) + AFTER_OPEN_S)
            elif to == "close":
                self.in_session = False
                i = cal.session_index_at(now)
                self.jump((cal.closes[i] if i is not None else now) + 60)
            elif to == "weekend":
                self.in_session = False
                self.jump(next_weekend(now))
            elif to == "halt":
                self.halted = True
            elif to == "resume":
                self.halted = False
            else:
                raise ValueError(f"unknown move {to!r}: open, close, weekend, halt, resume")
        return self.state()

    def shock(self, pct: Decimal) -> dict[str, Any]:
        with self.lock:
            self.multiplier *= 1 + pct / 100
        return self.state()

    def dividend(self, pct: Decimal) -> dict[str, Any]:
        """Asks the oracle keeper's thread to pay a dividend of `pct`% of the price over the
        coming night (`pay_dividend`); answers once it applied."""
        if not 0 < pct <= MAX_DIVIDEND_PCT:
            raise ValueError(f"a dividend between 0 and {MAX_DIVIDEND_PCT}% of the price")
        done: Future[dict[str, Any]] = Future()
        self.jobs.put(("dividend", pct, done))
        try:
            return done.result(JOB_TIMEOUT_S)
        except TimeoutError:
            done.cancel()  # still queued: never runs; running: it finishes, unanswered
            raise RuntimeError(f"the oracle keeper did not answer in {JOB_TIMEOUT_S} s") from None

    def keep_in_session(self) -> None:
        """Session mode: a minute after the next open once the close is near."""
        if not self.in_session:
            return
        with self.lock:
            now = self.now()
            i = self.calendar.session_index_at(now)
            if i is None or self.calendar.closes[i] - now < ROLLOVER_S:
                self.jump(self.calendar.next_open(now) + AFTER_OPEN_S)

    def state(self) -> dict[str, Any]:
        now = self.now()
        status = self.calendar.status_at(now)
        return {
            "chain_time": now,
            "chain_time_utc": f"{utc(now):%a %Y-%m-%d %H:%M:%S} UTC",
            "calendar_status": status.name,
            "in_session": self.in_session,
            "halted": self.halted,
            "multiplier": str(self.multiplier),
        }


class DevSource:
    """The seeded GBM, with the dev panel's halt and price shocks on top."""

    def __init__(self, inner: GbmSource, clock: DevClock):
        self.inner, self.clock = inner, clock
        self.name = f"dev:{inner.name}"

    def quote(self, now: int) -> Quote | None:
        q = self.inner.quote(now)
        if q is None:
            return None
        status = MarketStatus.HALTED if self.clock.halted else q.status
        return Quote(q.price * self.clock.multiplier, q.observed_at, status, self.name)


def handler(dist: Path, config: dict[str, Any], clock: DevClock) -> type[SimpleHTTPRequestHandler]:
    class Handler(SimpleHTTPRequestHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(dist), **kwargs)

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _json(self, body: Any, code: int = 200) -> None:
            raw = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Cache-Control", "no-store")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def do_GET(self) -> None:
            path = urllib.parse.urlparse(self.path).path
            if path == "/config.json":
                return self._json(config)
            if path == "/dev/state":
                return self._json(clock.state())
            return super().do_GET()

        def do_POST(self) -> None:
            url = urllib.parse.urlparse(self.path)
            query = dict(urllib.parse.parse_qsl(url.query))
            try:
                if url.path == "/dev/clock":
                    return self._json(clock.move(query.get("to", "")))
                if url.path == "/dev/price":
                    return self._json(clock.shock(Decimal(query.get("pct", "0"))))
                if url.path == "/dev/dividend":
                    return self._json(clock.dividend(Decimal(query.get("pct", "1"))))
            except Exception as exc:  # a refused move or job: its reason, to the page
                return self._json({"error": str(exc)}, 400)
            return self._json({"error": "not found"}, 404)

    return Handler


def deploy(env: dict[str, str]) -> None:
    cmd = ["ape", "run", "deploy", "--network", NETWORK, "--account", "TEST::0"]
    cmd += ["--reporter", "TEST::1", "--symbols", SYMBOL]
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL)


def keeper_processes(env: dict[str, str], logs: Path) -> list[subprocess.Popen[bytes]]:
    procs = []
    for job, who, extra in (
        ("orders", ORDER_KEEPER, []),
        ("liquidate", LIQUIDATION_KEEPER, ["--book", "all"]),
    ):
        cmd = ["ape", "run", "keeper", job, "--network", NETWORK, "--account", f"TEST::{who}"]
        cmd += ["--symbol", SYMBOL, "--poll", "0.5", "--log-format", "plain", *extra]
        out = open(logs / f"keeper-{job}.log", "ab")  # noqa: SIM115
        procs.append(
            subprocess.Popen(
                cmd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        )
    return procs


def run_oracle(
    clock: DevClock, seed: int, heartbeat_s: int, stop: threading.Event, ready: threading.Event
) -> None:
    """Connect Ape, push the first price, seed the pool (then `ready`), then tick the oracle
    keeper at the chain's time."""
    from ape import accounts, networks
    from ape.logging import logger as ape_logger

    from synthequity.deployments import MarketContracts
    from synthequity.keepers.oracle.logic import PushPolicy
    from synthequity.keepers.oracle.runner import ApeFeedIO, OracleKeeper

    ape_logger.set_level("WARNING")  # one line per confirmed push otherwise
    with networks.parse_network_choice(NETWORK):
        market = MarketContracts.load("ethereum-local", SYMBOL)
        lp = accounts.test_accounts[LP]
        usd, pool = market.need("collateral"), market.need("pool")
        keeper = OracleKeeper(
            io=ApeFeedIO(market.oracle, accounts.test_accounts[1]),
            source=DevSource(GbmSource(seed, calendar=clock.calendar), clock),
            policy=PushPolicy(heartbeat_open_s=heartbeat_s),
        )
        keeper.tick(clock.now())
        if int(pool.balanceOf(lp)) == 0:
            units = LP_SEED_USD * 10 ** int(usd.decimals())
            usd.approve(pool, units, sender=lp)
            pool.deposit(units, lp, sender=lp)
        borrower, vault = accounts.test_accounts[BORROWER], market.need("vault")
        if int(vault.position(borrower)[1]) == 0:  # a vault at 200% (the MCR is 150%)
            units = BORROWER_USD * 10 ** int(usd.decimals())
            usd.approve(vault, units, sender=borrower)
            vault.deposit(units, sender=borrower)
            vault.mint(int(vault.max_mintable(borrower)) * 3 // 4, sender=borrower)
        ready.set()
        touched = time.monotonic()
        while not stop.is_set():
            clock.keep_in_session()
            keeper.tick(clock.now())
            if time.monotonic() - touched > BORROWER_TOUCH_S:
                touched = time.monotonic()
                try:  # repays a speck: the touch mints its fee to the fund (any market state)
                    vault.burn(10**9, sender=borrower)
                except Exception as e:  # a refused touch costs nothing but this line
                    print(f"background borrower: {e}", file=sys.stderr)
            try:
                _, pct, done = clock.jobs.get(timeout=1.0)
            except queue.Empty:
                continue
            if not done.set_running_or_notify_cancel():
                continue  # the page gave up waiting: not paid behind its back
            try:
                admin = accounts.test_accounts[ADMIN]
                done.set_result(pay_dividend(clock, keeper, market.oracle, admin, pct))
            except Exception as e:  # the page shows the reason; the loop goes on
                done.set_exception(e)


def pay_dividend(
    clock: DevClock, keeper: Any, oracle: Any, admin: Any, pct: Decimal
) -> dict[str, Any]:
    """A cash dividend of `pct`% of the last price, paid over one night: the clock moves to
    the close (the keeper prints a CLOSED round), the admin stages the dividend with its
    ex-date at the next session's open (an admin's is confirmed at once), the source opens
    `pct`% lower (a stock opens ex-dividend) and the keeper's first print of the open applies
    it (docs/design/corporate-actions.md). Answers the clock's state and what was paid."""
    price = int(oracle.latestRoundData()[1])
    amount = int(price * pct) // 100  # in the feed's decimals, rounded down
    if amount == 0:
        raise ValueError(f"{pct}% of the price rounds to nothing")
    if int(oracle.staged_dividend()[0]) != 0:
        raise ValueError("a dividend is already staged on the oracle")
    with clock.lock:
        clock.halted = False  # a HALTED print is not the CLOSED round the dividend follows
    clock.move("close")
    keeper.tick(clock.now())
    ex = clock.calendar.next_open(clock.now())
    oracle.stage_dividend(amount, ex, sender=admin)
    multiplier = clock.multiplier
    with clock.lock:
        clock.multiplier *= 1 - pct / 100
    try:
        clock.move("open")
        keeper.tick(clock.now())
        if int(oracle.staged_dividend()[0]) != 0:
            raise RuntimeError("dividend staged but not applied: the open's print did not land")
    except Exception:
        # leave nothing half done: the dividend withdrawn, the source back where it was
        with clock.lock:
            clock.multiplier = multiplier
        if int(oracle.staged_dividend()[0]) != 0:
            oracle.cancel_dividend(sender=admin)
        raise
    per_share = Decimal(amount).scaleb(-int(oracle.decimals()))
    return {
        **clock.state(),
        "dividend": {"per_share_usd": str(per_share), "ex_utc": f"{utc(ex):%a %Y-%m-%d %H:%M} UTC"},
    }


def app_config(url: str, deployments_dir: Path, dev: bool) -> dict[str, Any]:
    record = json.loads((deployments_dir / "ethereum-local.json").read_text())
    return {
        "rpcUrl": url,
        "chainId": record["chain_id"],
        "chainName": "synthequity local (anvil)",
        "deployment": record,
        "devApi": dev,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=8610, help="anvil's")
    ap.add_argument("--app-port", type=int, default=8611, help="the page's (and /dev/*)")
    ap.add_argument("--seed", type=int, default=7, help="the GBM's")
    ap.add_argument("--heartbeat", type=int, default=3, help="oracle push at least every N s")
    ap.add_argument("--dist", type=Path, default=DIST)
    ap.add_argument("--state-dir", type=Path, default=Path(".devchain/dapp"))
    ap.add_argument("--ready-file", type=Path, default=None, help="written once serving")
    args = ap.parse_args(argv)
    if not (args.dist / "index.html").exists():
        ap.error(f"{args.dist}/index.html missing: build the dapp first (make dapp does)")
    args.state_dir.mkdir(parents=True, exist_ok=True)
    deployments_dir = args.state_dir / "deployments"
    calendar = nyse()
    start = session_start(calendar, int(time.time()))
    node = Anvil(port=args.port, timestamp=start, log=args.state_dir / "anvil.log").start()
    stop = threading.Event()
    procs: list[subprocess.Popen[bytes]] = []
    server: ThreadingHTTPServer | None = None
    try:
        env = {
            **os.environ,
            "APE_FOUNDRY_HOST": node.url,
            "SYNTHEQUITY_DEPLOYMENTS_DIR": str(deployments_dir),
        }
        os.environ.update(env)  # the in-process oracle keeper's Ape too
        if (deployments_dir / "ethereum-local.json").exists():
            (deployments_dir / "ethereum-local.json").unlink()  # a new chain every run
        print(f"==> anvil on {node.url}, clock {utc(start or int(time.time())):%a %H:%M} UTC")
        t0 = time.time()
        deploy(env)
        print(f"==> protocol deployed ({time.time() - t0:.0f} s)", flush=True)
        clock = DevClock(calendar, node.url)
        priced = threading.Event()
        oracle = threading.Thread(
            target=run_oracle, args=(clock, args.seed, args.heartbeat, stop, priced), daemon=True
        )
        oracle.start()
        while not priced.wait(0.5):  # the page's first read finds a price and a funded pool
            if not oracle.is_alive():
                print("oracle keeper stopped: see the log above", file=sys.stderr)
                return 1
        procs = keeper_processes(env, args.state_dir)
        config = app_config(node.url, deployments_dir, dev=True)
        server = ThreadingHTTPServer(
            ("127.0.0.1", args.app_port), handler(args.dist, config, clock)
        )
        threading.Thread(target=server.serve_forever, daemon=True).start()
        app = f"http://127.0.0.1:{args.app_port}/"
        print_welcome(app, node.url, config["chainId"])
        if args.ready_file:
            # whole or absent: a reader polling for the file never sees it half written
            partial = args.ready_file.with_suffix(".partial")
            partial.write_text(json.dumps({"app": app, "rpc": node.url}))
            partial.replace(args.ready_file)
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        while not stop.is_set():
            if not oracle.is_alive():
                print("oracle keeper stopped: see the log above", file=sys.stderr)
                return 1
            stop.wait(1.0)
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        if server is not None:
            server.shutdown()
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
        node.stop()
    return 0


def print_welcome(app: str, rpc_url: str, chain_id: int) -> None:
    print(
        f"""
==> synthequity dapp: {app}

Import a funded test account into your browser wallet (MetaMask: Add account > Import):
    private key {test_key(TRADER)}
    (TEST::{TRADER} of anvil's public test mnemonic "{MNEMONIC}":
     10,000 ETH and 100,000 mock USD; never use these keys on a real network)
Add the network when the page asks (or by hand): RPC {rpc_url}, chain id {chain_id}.
The chain's clock stays inside an NYSE session; the page's Dev panel moves it to a close,
a weekend or a halt, and pays a dividend over a night. Keepers: oracle (GBM), orders,
liquidations. Ctrl-C stops everything.
""",
        flush=True,
    )


if __name__ == "__main__":
    raise SystemExit(main())
