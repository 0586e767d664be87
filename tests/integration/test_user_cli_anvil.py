"""The wallet user's commands as a person types them, after `ape run deploy`: `ape run vault`,
`ape run perp` and `ape run pool`, each subcommand's success path (human units in and out,
approvals handled) and the refusals a person must get before any gas is spent (insufficient
balance, below the MCR with the maximum mintable, market closed with the next NYSE open, a
stale price) — with every balance unchanged by a refusal."""

import pytest
from ape_cli import ape_run

from synthequity.constants import MarketStatus
from synthequity.deployments import MarketContracts
from synthequity.model.vault import redemption_fee_wad

pytestmark = pytest.mark.integration
WAD = 10**18
ZERO = "0x" + "0" * 40


def say(text: str) -> str:
    return " ".join(text.split())  # rich wraps long lines in a pipe


@pytest.fixture
def protocol(tmp_path, project, accounts, chain):
    deployed = ape_run(
        "deploy",
        "--account",
        "TEST::0",
        "--reporter",
        "TEST::1",
        "--no-fund-demo",  # the balances below are the test's own
        deployments_dir=tmp_path,
    )
    assert deployed.returncode == 0, deployed.stderr[-2_000:]
    tsla = MarketContracts.load("ethereum-local", "TSLA", root=tmp_path)
    c = {
        "vault": tsla.vault,
        "synth": tsla.synth,
        "market": tsla.perp,
        "pool": tsla.pool,
        "oracle": tsla.oracle,
        "usd": tsla.collateral,
    }
    reporter = accounts[1]
    c["admin"] = accounts[0]  # the deployer: DEFAULT_ADMIN

    def push(price=200.0, status=MarketStatus.OPEN):
        t = chain.blocks.head.timestamp + 1
        chain.pending_timestamp = t
        c["oracle"].push_price(round(price * 10**8), t, int(status), sender=reporter)

    c["push"] = push
    c["dir"] = tmp_path
    return c


def user(book, *args, account, protocol):
    out = ape_run(book, *args, "--account", account, deployments_dir=protocol["dir"])
    return out.returncode, say(out.stdout + out.stderr)


def open_perp(protocol, trader, lp, pool_usd):
    """The trader holds $2,000; an OPEN $200 price; the LP puts `pool_usd` in the pool."""
    usd, pool = protocol["usd"], protocol["pool"]
    usd.faucet(trader, 2_000 * 10**6, sender=trader)
    usd.faucet(lp, pool_usd * 10**6, sender=lp)
    protocol["push"](200)
    usd.approve(pool, 2**256 - 1, sender=lp)
    pool.deposit(pool_usd * 10**6, lp, sender=lp)


def test_vault_commands(protocol, accounts, chain):
    borrower = accounts[2]
    usd, vault, synth = protocol["usd"], protocol["vault"], protocol["synth"]
    usd.faucet(borrower, 3_000 * 10**6, sender=borrower)
    protocol["push"](200)
    ahead = [accounts[6], accounts[7]]  # at 155% and 170%: listed before the borrower's 300%
    for who, collateral in zip(ahead, (3_100, 3_400), strict=True):
        usd.faucet(who, collateral * 10**6, sender=who)
        usd.approve(vault, 2**256 - 1, sender=who)
        vault.open(collateral * 10**6, 10 * WAD, sender=who)

    def hints_sent() -> tuple[str, str]:
        """The sorted-list hints of the borrower's last call (without them the vault walks
        its list from the head: a cold read per position ahead)."""
        block = chain.provider.web3.eth.get_block("latest", full_transactions=True)
        tx = next(t for t in block.transactions if t["from"] == borrower.address)
        _, args = vault.decode_input(bytes(tx["input"]))
        return args["prev_hint"], args["insert_hint"]

    status = [MarketStatus.OPEN]

    def vault_cmd(*args):
        # a fresh print before each command: on a loaded CI machine ten `ape run`s outlast
        # the market's 120 s staleness bound, and this test is about the CLI, not staleness
        protocol["push"](200, status[0])
        return user("vault", *args, "--yes", account="TEST::2", protocol=protocol)

    # refused before gas: more collateral than held; a mint above the MCR (with the maximum)
    before = usd.balanceOf(borrower)
    rc, text = vault_cmd("open", "--collateral", "5000", "--mint", "1")
    assert rc == 1 and "insufficient mUSD: you have 3,000.00, this needs 5,000.00" in text
    rc, text = vault_cmd("open", "--collateral", "1500", "--mint", "6")
    assert rc == 1 and "at most 5.000000 sTSLA can be minted" in text  # 1,500 / (200 x 150%)
    rc, text = vault_cmd("open", "--collateral", "0", "--mint", "1")
    assert rc == 1 and "--collateral must be more than 0" in text
    assert usd.balanceOf(borrower) == before and vault.position(borrower) == (0, 0)

    rc, text = vault_cmd("open", "--collateral", "1500", "--mint", "2.5")  # approval included
    assert rc == 0, text
    assert (
        vault.position(borrower)[0] == 1_500 * 10**6 and synth.balanceOf(borrower) == 25 * WAD // 10
    )
    # liquidated when TSLA rises: 1,500 / (2.5 x 125%) = $480
    assert "collateral ratio: 300.00%" in text and "liquidation price: $480.00" in text
    assert hints_sent() == (ZERO, ahead[1].address)  # not listed yet; after the 170%

    rc, text = vault_cmd("deposit", "--amount", "500")
    assert rc == 0 and vault.position(borrower)[0] == 2_000 * 10**6, text
    rc, text = vault_cmd("mint", "--amount", "1")
    assert rc == 0 and synth.balanceOf(borrower) == 35 * WAD // 10, text
    assert hints_sent() == (ahead[1].address, ahead[1].address)  # 2,000 / 3.5 sTSLA: 286%
    rc, text = vault_cmd("burn", "--amount", "0.5")
    assert rc == 0 and synth.balanceOf(borrower) == 3 * WAD, text
    rc, text = vault_cmd("withdraw", "--amount", "100")
    assert rc == 0 and usd.balanceOf(borrower) == 1_100 * 10**6, text
    rc, text = vault_cmd("withdraw", "--amount", "1500")  # would leave it under 150%
    assert rc == 1 and "collateral: at most" in text and "can be withdrawn now" in text
    rc, text = vault_cmd("status")
    assert rc == 0 and "debt: 3.00" in text and "market: open, price fresh" in text

    # the market closes: minting refused with the next NYSE open; repaying still allowed
    status[0] = MarketStatus.CLOSED
    rc, text = vault_cmd("mint", "--amount", "0.1")
    assert rc == 1 and "market closed; next NYSE open" in text and "UTC" in text
    rc, text = vault_cmd("burn", "--amount", "1")
    assert rc == 0, text
    # closing needs the whole debt in synth (fees accrue by the second): refused, plainly
    rc, text = vault_cmd("close")
    assert rc == 1 and "insufficient sTSLA" in text


def test_redeem_and_stability_pool_commands(protocol, accounts):
    """`vault redeem` plans the riskiest-first redemption and its hints from the sorted list
    and bounds the fee; `vault sp-*` deposit, show, withdraw and claim; the refusals come
    before any gas, with every balance unchanged."""
    usd, vault, synth = protocol["usd"], protocol["vault"], protocol["synth"]
    risky, safe, holder = accounts[2], accounts[4], accounts[3]
    protocol["push"](200)
    for who, collateral in ((risky, 3_100), (safe, 4_000)):  # 155% and 200% at $200
        usd.faucet(who, collateral * 10**6, sender=who)
        usd.approve(vault, 2**256 - 1, sender=who)
        vault.open(collateral * 10**6, 10 * WAD, sender=who)
    synth.transfer(holder, 5 * WAD, sender=safe)

    def vault_cmd(*args):
        protocol["push"](200)  # fresh before each command (see test_vault_commands)
        return user("vault", *args, "--yes", account="TEST::3", protocol=protocol)

    rc, text = vault_cmd("redeem", "--amount", "6")
    assert rc == 1 and "insufficient sTSLA: you have 5.00" in text
    rc, text = vault_cmd("redeem", "--amount", "2", "--max-fee", "0.1")
    assert rc == 1 and "above --max-fee 0.10%" in text
    assert synth.balanceOf(holder) == 5 * WAD and usd.balanceOf(holder) == 0

    rc, text = vault_cmd("redeem", "--amount", "2")
    assert rc == 0, text
    assert "from 1 position(s), riskiest first" in text
    assert synth.balanceOf(holder) == 3 * WAD
    assert vault.position(risky)[1] < 9 * WAD < vault.position(safe)[1]  # the 155% one paid
    # $400 less the fee: the 0.5% floor + 2 of 20 sTSLA redeemed / 2 (the base rate's rise)
    assert redemption_fee_wad(0, 0, 0, 2 * WAD, 20 * WAD) == 55 * WAD // 1_000
    assert usd.balanceOf(holder) == 400 * 10**6 * 945 // 1_000
    assert "fee 5.500%" in text

    rc, text = vault_cmd("sp-deposit", "--amount", "2")
    assert rc == 0 and "waiting to join" in text and synth.balanceOf(holder) == WAD, text
    rc, text = user("vault", "sp-status", account="TEST::3", protocol=protocol)
    assert rc == 0 and "waiting to join (a deposit joins after the next full hour): 2.00" in text
    rc, text = vault_cmd("sp-claim")
    assert rc == 1 and "no gains to claim" in text
    rc, text = vault_cmd("sp-withdraw", "--amount", "3")
    assert rc == 1 and "you have 2.00" in text
    rc, text = vault_cmd("sp-withdraw", "--all")
    assert rc == 0 and synth.balanceOf(holder) == 3 * WAD, text


def test_perp_commands(protocol, accounts, chain):
    trader, keeper, lp = accounts[3], accounts[5], accounts[9]
    market = protocol["market"]
    open_perp(protocol, trader, lp, pool_usd=1_000_000)

    def perp(*args):
        return user("perp", *args, "--yes", account="TEST::3", protocol=protocol)

    rc, text = perp("deposit", "--amount", "1000")
    assert rc == 0 and market.position(trader).margin == 1_000 * WAD, text
    rc, text = perp("long", "--size", "30")  # $6,000 at $200 needs $1,200 at 5x
    assert rc == 1 and "not enough margin" in text and "deposit more margin" in text
    rc, text = perp("long", "--size", "20", "--slippage-bps", "50")
    assert rc == 0 and "pending order: 20.000000 shares" in text, text
    rc, text = perp("long", "--size", "1")
    assert rc == 1 and "an order is already pending" in text
    protocol["push"](200.5)  # within the 0.5% bound
    market.execute_order(trader, sender=keeper)  # the keeper fills it at the newer price
    assert market.position(trader).size == 20 * WAD
    rc, text = perp("status")
    assert (
        rc == 0 and "size: 20.000000 shares (long)" in text and "liquidation price: about" in text
    )
    assert "health:" in text and "funding owed" in text
    rc, text = perp("withdraw", "--amount", "900")  # only margin above the IMR comes out
    assert rc == 1 and "margin: at most" in text
    rc, text = perp("close")
    assert rc == 0 and "pending order: -20.000000 shares" in text, text
    protocol["push"](202)
    market.execute_order(trader, sender=keeper)
    assert market.position(trader).size == 0
    rc, text = perp("cancel")
    assert rc == 1 and "no pending order" in text
    free = market.position(trader).margin // 10**12
    rc, text = perp("withdraw", "--amount", str(free / 10**6))
    assert rc == 0 and market.position(trader).margin < 10**12, text

    # conditional orders (issue 20): a limit buy, filled by a keeper through the book at the
    # first crossing price; a stop-loss for the whole position; a take-profit on the wrong
    # side refused; a cancel that returns the fee to margin
    book = MarketContracts.load("ethereum-local", "TSLA", root=protocol["dir"]).perp_orders
    rc, text = perp("sl", "--price", "190")
    assert rc == 1 and "no open position to attach a stop-loss to" in text, text
    rc, text = perp("deposit", "--amount", "1000")
    assert rc == 0, text
    rc, text = perp("limit", "--side", "buy", "--size", "2", "--price", "199")
    assert rc == 0 and "place #0: limit buy 2.000000 shares at $199.00" in text, text
    assert "#0 limit buy 2.000000 shares at $199.00" in text and "waiting" in text, text
    assert "fills at the first price after the open" in text  # the gap-fill warning
    protocol["push"](198.5)
    book.execute(trader, 0, protocol["oracle"].latestRound(), sender=keeper)
    assert market.position(trader).size == 2 * WAD
    rc, text = perp("tp", "--price", "190")
    assert rc == 1 and "a take-profit for this long goes above the price" in text, text
    rc, text = perp("sl", "--price", "190")
    assert rc == 0 and "stop-loss sell the whole position at $190.00 (any price" in text, text
    margin = market.position(trader).margin
    rc, text = perp("cancel", "--order", "0")
    assert rc == 0 and market.position(trader).margin == margin + WAD, text
    assert "none" in text
    rc, text = perp("cancel", "--order", "0")
    assert rc == 1 and "no conditional order 0" in text

    # stale price: refused before gas
    chain.pending_timestamp = chain.blocks.head.timestamp + 600
    chain.mine()
    rc, text = perp("short", "--size", "1")
    assert rc == 1 and "stale price: last update" in text


def test_pool_commands(protocol, accounts, chain):
    lp = accounts[4]
    usd, pool = protocol["usd"], protocol["pool"]
    usd.faucet(lp, 10_000 * 10**6, sender=lp)
    protocol["push"](200)

    def pool_cmd(*args, yes=True):
        return user(
            "pool", *args, *(["--yes"] if yes else []), account="TEST::4", protocol=protocol
        )

    rc, text = pool_cmd("deposit", "--amount", "20000")
    assert rc == 1 and "insufficient mUSD" in text
    rc, text = pool_cmd("deposit", "--amount", "10000")
    assert rc == 0 and pool.balanceOf(lp) > 0 and "value: 10,000.00 mUSD" in text, text
    assert "locks your whole pool balance (this deposit and any shares you hold) until" in text
    assert "lock: locked until" in text, text
    # the deposit lock (no just-in-time LP): refused before gas, with the time it ends
    rc, text = pool_cmd("withdraw", "--amount", "2500")
    assert rc == 1 and "pool: locked until" in text and usd.balanceOf(lp) == 0, text
    assert "a deposit locks your whole pool balance for 1 d" in text
    chain.mine(timestamp=pool.unlock_at(lp))
    protocol["push"](200)
    rc, text = pool_cmd("withdraw", "--amount", "2500")
    assert rc == 0 and usd.balanceOf(lp) == 2_500 * 10**6, text
    rc, text = pool_cmd("status", yes=False)
    assert rc == 0 and "value: 7,500.00 mUSD" in text
    assert "lock: unlocked: withdrawals and transfers are open" in text, text
    protocol["push"](200, MarketStatus.CLOSED)
    rc, text = pool_cmd("withdraw", "--amount", "1")
    assert rc == 1 and "market closed; next NYSE open" in text


def test_perp_commands_once_settled(protocol, accounts, chain):
    """Delisting from the trader's and the LP's side: new risk refused with the reason, `close`
    closes at the frozen price, `withdraw` takes the whole margin, the LP leaves last."""
    trader, keeper, lp = accounts[3], accounts[5], accounts[9]
    usd, market = protocol["usd"], protocol["market"]
    open_perp(protocol, trader, lp, pool_usd=100_000)
    usd.approve(market, 2**256 - 1, sender=trader)
    market.deposit_margin(1_000 * 10**6, sender=trader)
    market.commit_order(10 * WAD, 2**255, sender=trader)
    protocol["push"](200)
    market.execute_order(trader, sender=keeper)
    protocol["push"](230, MarketStatus.CLOSED)  # the last print
    market.settle(sender=protocol["admin"])

    def run(book, *args, account):
        return user(book, *args, "--yes", account=account, protocol=protocol)

    rc, text = run("perp", "long", "--size", "1", account="TEST::3")
    assert rc == 1 and "market settled (delisted) at $230.00 per base share" in text, text
    rc, text = run("perp", "withdraw", "--amount", "1", account="TEST::3")
    assert rc == 1 and "`ape run perp close` first" in text
    rc, text = run("pool", "withdraw", "--amount", "1", account="TEST::9")
    assert rc == 1 and "LPs withdraw once every position is closed" in text
    equity = market.equity(trader)
    rc, text = run("perp", "close", account="TEST::3")
    assert rc == 0 and market.position(trader).size == 0, text
    assert "at the settlement price $230.00" in text
    assert abs(market.position(trader).margin - equity) < 10**12
    before = usd.balanceOf(trader)
    rc, text = run("perp", "withdraw", "--amount", str(equity // 10**12 / 10**6), account="TEST::3")
    assert rc == 0 and usd.balanceOf(trader) - before == equity // 10**12, text
    chain.mine(timestamp=max(chain.blocks.head.timestamp, protocol["pool"].unlock_at(lp)))
    rc, text = run("pool", "withdraw", "--amount", "1000", account="TEST::9")
    assert rc == 0 and "withdrawable now" in text, text


def test_status_shows_the_dividends_received_and_paid(protocol, accounts, chain):
    """Issue 21: a $2 dividend ex at the $198 reference print after a $200 close. The
    borrower of 3 sTSLA who kept 1.5 of them paid $6 on its debt and received $3 on its
    synth; the holder of the other 1.5 received $3 (`ape run vault status`)."""
    borrower, holder, reporter = accounts[2], accounts[3], accounts[1]
    usd, vault, synth, oracle = (protocol[k] for k in ("usd", "vault", "synth", "oracle"))
    protocol["push"](200)
    usd.faucet(borrower, 3_000 * 10**6, sender=borrower)
    usd.approve(vault, 2**256 - 1, sender=borrower)
    vault.open(1_500 * 10**6, 3 * WAD, sender=borrower)
    synth.transfer(holder, 3 * WAD // 2, sender=borrower)
    activation = chain.blocks.head.timestamp + 60
    oracle.stage_dividend(2 * 10**8, activation, sender=protocol["admin"])
    protocol["push"](200, MarketStatus.CLOSED)
    chain.pending_timestamp = activation  # the ex-date's first print, at the reference
    oracle.push_price(198 * 10**8, activation, int(MarketStatus.OPEN), sender=reporter)
    assert oracle.shares_multiplier_wad() == 10**12 * 200 // 198 * 10**6
    rc, text = user("vault", "status", account="TEST::2", protocol=protocol)
    assert rc == 0, text
    assert "1 sTSLA = 1.010101 TSLA shares since splits and dividends" in text
    assert "dividends: received $3.00 on the sTSLA held, paid $6.00 on the debt" in text, text
    rc, text = user("vault", "status", account="TEST::3", protocol=protocol)
    assert rc == 0 and "dividends: received $3.00 on the sTSLA held, paid $0.00" in text, text


def test_perp_status_shows_the_dividends_a_long_received(protocol, accounts, chain):
    """Issue 21: a 2-share long held through a $2 dividend (ex at the $198 reference print
    after a $200 close) received $4 (`ape run perp status`); the pool, short the skew, paid
    it through the price."""
    trader, keeper, lp, reporter = accounts[4], accounts[5], accounts[9], accounts[1]
    usd, market, oracle = protocol["usd"], protocol["market"], protocol["oracle"]
    open_perp(protocol, trader, lp, pool_usd=100_000)
    usd.approve(market, 2**256 - 1, sender=trader)
    market.deposit_margin(1_000 * 10**6, sender=trader)
    market.commit_order(2 * WAD, 2**255, sender=trader)
    protocol["push"](200)
    market.execute_order(trader, sender=keeper)
    assert market.position(trader).size == 2 * WAD
    activation = chain.blocks.head.timestamp + 60
    oracle.stage_dividend(2 * 10**8, activation, sender=protocol["admin"])
    protocol["push"](200, MarketStatus.CLOSED)
    chain.pending_timestamp = activation  # the ex-date's first print, at the reference
    oracle.push_price(198 * 10**8, activation, int(MarketStatus.OPEN), sender=reporter)
    rc, text = user("perp", "status", account="TEST::4", protocol=protocol)
    assert rc == 0 and "dividends: received $4.00, paid $0.00 (1 ex-dates)" in text, text
