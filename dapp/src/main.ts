// synthequity's wallet dapp: Markets, Vault, Perp, Pool, Synth (redeem, stability pool),
// History (+ Dev on a local chain).
// Plain viem and the DOM: every number is read from the chain each poll; every action runs
// the CLI's checks before the wallet is asked to sign, then a simulation (a revert shown in
// words, still before signing), then the wallet.
import "./style.css";
import type { Abi, Address, PublicClient, WalletClient } from "viem";
import { getAddress } from "viem";
import * as abi from "./generated/abi";
import {
  type Config, type Market, type Snapshot, type Wallet, connect, discoverWallets, markets, reader,
  reason, snapshot, sortedEntries,
} from "./chain";
import { duration, fmtUnits, nextOpen, parseAmount, pct, sessionAt, shares, usd, when } from "./format";
import { estimateText } from "./estimate";
import * as m from "./model";
import { STATUS, balanceProblem, first, mintProblem, priceProblem, withdrawProblem } from "./preflight";

const SCREENS = ["markets", "vault", "perp", "pool", "synth", "history", "dev"] as const;
type Screen = (typeof SCREENS)[number];

const st: {
  cfg: Config; pc: PublicClient; markets: Market[]; market: Market; snap: Snapshot | null;
  feeBase: { debt: bigint; block: bigint } | null; funding: Map<string, bigint>;
  wallets: Wallet[]; account: Address | null; wc: WalletClient | null; busy: boolean;
  chart: { t: number; p: number }[]; chartFrom: bigint;
  joinsAt: { waiting: bigint; at: number } | null; // when your waiting pool deposit joins
  fees: { wad: bigint; fills: number; from: bigint }; // trading fees the pool earned
  // dividends this account received and paid (issue 21), read from `DividendApplied` on
  divs: { key: string; from: bigint; n: number; vault: [bigint, bigint]; perp: [bigint, bigint] };
} = {} as never;

/** The selected market's addresses, read at each click (the selector may change it). */
const mk = {
  get collateral() { return st.market.collateral; }, get vault() { return st.market.vault; },
  get perp() { return st.market.perp; }, get pool() { return st.market.pool; },
};

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const set = (id: string, text: string) => {
  const el = $(id);
  if (el && el.textContent !== text) el.textContent = text;
};
const val = (id: string) => $<HTMLInputElement>(id).value;

function msg(screen: Screen, kind: "refused" | "error" | "ok" | "info", text: string) {
  const el = $(`${screen}-msg`);
  el.className = `msg ${kind}`;
  el.textContent = (kind === "refused" ? "Refused (nothing sent): " : kind === "error" ? "Reverted: " : "") + text;
}

// ---- layout ---------------------------------------------------------------------------------
const dl = (rows: [string, string][]) =>
  `<dl>${rows.map(([k, id]) => `<dt>${k}</dt><dd id="${id}">–</dd>`).join("")}</dl>`;
const field = (id: string, label: string, ph = "") =>
  `<label for="${id}">${label}</label><input id="${id}" inputmode="decimal" autocomplete="off" placeholder="${ph}">`;
const btn = (id: string, text: string, cls = "") => `<button id="${id}" class="${cls}">${text}</button>`;

function layout() {
  $("app").innerHTML = `
  <header>
    <h1>synthequity</h1>
    <label for="market" class="sr-only">Market</label><select id="market" aria-label="Market"></select>
    <span id="h-market"></span><span id="h-status" class="badge UNKNOWN">–</span>
    <span class="dim" id="h-time"></span>
    <span style="flex:1"></span>
    <span id="wallets"></span><span id="h-account" class="dim">read-only (no wallet)</span>
    ${btn("faucet", "Get test USD")}
  </header>
  <nav role="tablist" aria-label="Screens">${SCREENS.map((s) => `<button role="tab" id="tab-${s}" aria-controls="s-${s}" aria-selected="false">${s[0].toUpperCase() + s.slice(1)}</button>`).join("")}</nav>
  <main>
  <p class="msg info" id="top-msg" hidden></p>
  <section id="s-markets" role="tabpanel" aria-labelledby="tab-markets"><div class="grid">
    <div class="panel"><h2 id="mk-title">Market</h2>${dl([["Oracle price", "mk-price"], ["Price age", "mk-age"], ["Status", "mk-status"], ["Next", "mk-next"], ["Funding rate (per day)", "mk-funding"], ["Skew", "mk-skew"], ["Open interest long / short", "mk-oi"], ["Pool NAV", "mk-nav"]])}</div>
    <div class="panel"><h2>Price (oracle rounds)</h2><svg class="chart" id="mk-chart" viewBox="0 0 300 140" preserveAspectRatio="none"></svg><p class="dim" id="mk-range"></p></div>
  </div>
  <div class="panel wide"><h2>Every market</h2><table><thead><tr><th>market</th><th>oracle price</th><th>age</th><th>status</th></tr></thead><tbody id="mk-all"></tbody></table></div>
  <p class="msg" id="markets-msg" role="status" aria-live="polite"></p></section>
  <section id="s-vault" role="tabpanel" aria-labelledby="tab-vault"><div class="grid">
    <div class="panel"><h2>Your vault</h2>${dl([["Collateral", "v-coll"], ["Debt", "v-debt"], ["Collateral ratio", "v-cr"], ["Liquidation price", "v-liq"], ["Max mintable now", "v-max"], ["Stability fee", "v-fee"], ["Fee accrued", "v-fee-accrued"], ["Dividends", "v-div"], ["Wallet", "v-wallet"], ["Fee synth for sale", "v-fund"]])}
      <div class="gauge" id="v-gauge" role="img" aria-label="collateral ratio"><div class="fill" id="v-gauge-fill" style="width:0"></div><div class="mark liq" id="v-gauge-liq"></div><div class="mark" id="v-gauge-mcr"></div></div>
      <p class="dim" id="v-gauge-legend"></p></div>
    <div class="panel"><h2>Act</h2>${field("v-coll-in", "Collateral (USD)", "e.g. 3000")}${field("v-synth-in", "Synth (shares)", "e.g. 4")}
      <p class="dim" id="v-preview">Preview: enter an amount</p>
      <p class="dim" id="v-repay"></p>
      <label class="check" for="v-buy"><input type="checkbox" id="v-buy"> Buy the missing synth from the insurance fund at the oracle price (at most 1% more) when burning or closing</label>
      <div class="row">${btn("v-open", "Open", "primary")}${btn("v-deposit", "Deposit")}${btn("v-mint", "Mint")}${btn("v-burn", "Burn")}${btn("v-withdraw", "Withdraw")}${btn("v-close", "Close (repay all)")}${btn("v-buy-fee", "Buy fee synth")}</div>
      <p class="msg" id="vault-msg" role="status" aria-live="polite"></p></div>
  </div></section>
  <section id="s-perp" role="tabpanel" aria-labelledby="tab-perp"><div class="grid">
    <div class="panel"><h2>Your position</h2>${dl([["Margin", "p-margin"], ["Size", "p-size"], ["Entry", "p-entry"], ["PnL", "p-pnl"], ["Funding owed", "p-funding"], ["Equity", "p-equity"], ["Leverage", "p-lev"], ["Liquidation price", "p-liq"], ["Health", "p-health"], ["Withdrawable", "p-withdrawable"], ["Dividends", "p-div"], ["Pending order", "p-order"]])}
      <div class="row">${btn("p-close", "Close position")}${btn("p-cancel", "Cancel order")}${btn("p-execute", "Execute order")}</div></div>
    <div class="panel"><h2>Trade</h2>
      ${field("p-margin-in", "Margin (USD)", "e.g. 1000")}<div class="row">${btn("p-deposit", "Deposit margin")}${btn("p-withdraw", "Withdraw margin")}</div>
      ${field("p-size-in", "Size (shares) — or leave empty and give a notional or a leverage", "e.g. 2")}${field("p-usd-in", "Notional (USD)", "e.g. 1500")}${field("p-lev-in", "Leverage (x of your equity)", "e.g. 3")}${field("p-slip-in", "Slippage bound (bps)", "100")}
      <p class="dim" id="p-estimate">Estimate: enter a size or a leverage</p>
      <div class="row">${btn("p-long", "Long", "primary")}${btn("p-short", "Short")}</div>
      <p class="msg" id="perp-msg" role="status" aria-live="polite"></p></div>
    <div class="panel"><h2>Conditional orders</h2>
      <ul id="p-cond-list" class="orders"><li class="dim">none</li></ul>
      <label for="p-cond-kind">Kind</label><select id="p-cond-kind"><option value="1">Limit: buy at or below / sell at or above</option><option value="2">Stop: buy at or above / sell at or below</option><option value="3">Take-profit (reduce only)</option><option value="4">Stop-loss (reduce only)</option></select>
      <label for="p-cond-side">Side (limit and stop)</label><select id="p-cond-side"><option value="buy">Buy</option><option value="sell">Sell</option></select>
      ${field("p-cond-size", "Size (shares) — empty on a take-profit or stop-loss: the whole position", "e.g. 1")}${field("p-cond-trigger", "Trigger price (USD per share)", "e.g. 190")}${field("p-cond-slip", "Slippage bound beyond the trigger (bps) — empty: none", "limit / stop: 100")}${field("p-cond-days", "Expires in (days)", "7")}
      <p class="dim" id="p-cond-note">It fills at the first oracle price pushed after you place it that crosses the trigger. A trigger crossed while the market is closed fills at the first price after the open — a gap can fill a stop-loss well below its trigger, at the open's price; a slippage bound cancels it instead (the keeper fee is paid either way).</p>
      <div class="row">${btn("p-cond-place", "Place order", "primary")}</div></div>
  </div></section>
  <section id="s-pool" role="tabpanel" aria-labelledby="tab-pool"><div class="grid">
    <div class="panel"><h2>Liquidity pool</h2>${dl([["Pool NAV", "l-nav"], ["Assets", "l-assets"], ["Share value", "l-share"], ["Locked by open interest", "l-required"], ["Pool PnL vs traders", "l-pnl"], ["Trading fees earned", "l-fees"], ["Your shares", "l-mine"], ["Your value", "l-value"], ["Your lock", "l-lock"]])}</div>
    <div class="panel"><h2>Deposit / withdraw</h2>${field("l-amount", "Amount (USD)", "e.g. 1000")}
      <p class="dim" id="l-note"></p>
      <div class="row">${btn("l-deposit", "Deposit", "primary")}${btn("l-withdraw", "Withdraw")}</div>
      <p class="msg" id="pool-msg" role="status" aria-live="polite"></p></div>
  </div></section>
  <section id="s-synth" role="tabpanel" aria-labelledby="tab-synth"><div class="grid">
    <div class="panel"><h2>Stability pool</h2>${dl([["Your deposit (taking part)", "sp-active"], ["Waiting to join", "sp-waiting"], ["Your gains (collateral)", "sp-gains"], ["Pool: taking part / waiting", "sp-total"], ["Collateral held for depositors", "sp-held"], ["Your synth in wallet", "sp-wallet"]])}
      <p class="dim" id="sp-note"></p>
      ${field("sp-amount", "Synth (shares)", "e.g. 2")}
      <div class="row">${btn("sp-deposit", "Deposit", "primary")}${btn("sp-withdraw", "Withdraw")}${btn("sp-withdraw-all", "Withdraw all")}${btn("sp-claim", "Claim gains")}</div></div>
    <div class="panel"><h2>Redeem</h2>${dl([["Redemption fee now", "r-fee"], ["Oracle price", "r-price"], ["Your synth", "r-wallet"]])}
      <p class="dim">Burn synth for collateral worth it at the oracle price, less the fee, taken from the riskiest positions at or above the liquidation ratio (each loses debt and collateral of equal value; its owner loses nothing at that price). The fee rises with redemptions and halves every 12 h.</p>
      ${field("r-amount", "Synth to redeem (shares)", "e.g. 1.5")}${field("r-max-fee", "Highest fee you accept (%)", "fee now + 0.5")}
      <p class="dim" id="r-preview">Preview: enter an amount</p>
      <div class="row">${btn("r-redeem", "Redeem", "primary")}</div></div>
  </div><p class="msg" id="synth-msg" role="status" aria-live="polite"></p></section>
  <section id="s-history" role="tabpanel" aria-labelledby="tab-history"><div class="panel"><h2>Your history</h2><p class="dim" id="h-open-funding"></p><table><thead><tr><th>block</th><th>event</th><th>funding</th><th>details</th></tr></thead><tbody id="h-rows"></tbody></table>
    <p class="msg" id="history-msg"></p></div></section>
  <section id="s-dev" role="tabpanel" aria-labelledby="tab-dev"><div class="panel"><h2>Dev panel (local chain)</h2>
    <p class="dim">Moves the local chain's clock and the oracle keeper's source, to see what changes. A dividend: the admin stages 1% of the price with its ex-date at the next open, the clock goes over the night, the price opens 1% lower and the first print pays holders and longs, charges borrowers and shorts.</p>
    ${dl([["Chain time", "d-time"], ["Calendar", "d-cal"], ["Mode", "d-mode"]])}
    <div class="row">${btn("d-open", "Open (next session)")}${btn("d-close", "Close")}${btn("d-weekend", "Weekend")}${btn("d-halt", "Halt")}${btn("d-resume", "Resume")}${btn("d-up", "Price +5%")}${btn("d-down", "Price −5%")}${btn("d-div", "Dividend 1% (over a night)")}</div>
    <p class="msg" id="dev-msg"></p></div></section>
  </main>`;
  for (const s of SCREENS) $(`tab-${s}`).onclick = () => show(s);
  const sel = $<HTMLSelectElement>("market");
  sel.innerHTML = st.markets.map((x, i) => `<option value="${i}">${x.symbol}</option>`).join("");
  sel.hidden = st.markets.length < 2; // one market: nothing to choose
  sel.onchange = () => void selectMarket(Number(sel.value));
}

function show(s: Screen) {
  for (const x of SCREENS) {
    $(`s-${x}`).hidden = x !== s;
    $(`tab-${x}`).setAttribute("aria-selected", String(x === s));
  }
  location.hash = s;
  if (s === "history") void history();
}

// ---- derived numbers ------------------------------------------------------------------------
const vp = () => m.vaultParams(st.snap!.vault.params);
const pp = () => m.perpParams(st.snap!.perp.math);
const indexNow = (s: Snapshot) =>
  m.accrueFunding(s.perp.funding, s.perp.skew, s.oracle.priceWad, BigInt(s.now), pp()).index;
const riskProblem = (s: Snapshot, maxAge: number) =>
  priceProblem(s.oracle.status, s.oracle.updatedAt, s.now, maxAge, s.oracle.hasPrice, s.oracle.suspect);

// ---- render ---------------------------------------------------------------------------------
function render() {
  const s = st.snap;
  if (!s) return;
  const status = s.oracle.suspect ? "HALTED" : STATUS[s.oracle.status];
  const badge = $("h-status");
  badge.className = `badge ${status}`;
  badge.textContent = s.oracle.suspect ? "HALTED (suspect price)" : status;
  set("h-market", `${st.market.symbol} ${usd(s.oracle.priceWad)}`);
  set("h-time", `chain time ${when(s.now)}`);
  // markets
  set("mk-title", `${st.market.symbol} — oracle, perp and pool`);
  set("mk-price", usd(s.oracle.priceWad));
  set("mk-age", s.oracle.hasPrice ? `${duration(s.now - s.oracle.updatedAt)} ago (max ${s.perp.maxAge} s to trade)` : "no price yet");
  set("mk-status", s.oracle.suspect ? "HALTED: the last price jumped and awaits confirmation" :
    status === "OPEN" ? "OPEN: trading" : status === "CLOSED" ? "CLOSED: the exchange is closed; deposits, burns and closes with full repay still work" : `${status}: trading is suspended`);
  const sess = sessionAt(s.now);
  const nxt = nextOpen(s.now);
  set("mk-next", sess ? `closes ${when(sess[1])}` : nxt ? `opens ${when(nxt)}` : "–");
  set("mk-funding", `${fmtUnits(s.perp.fundingRate * 100n, 18, 4)}%`);
  set("mk-skew", `${shares(s.perp.skew)} shares`);
  set("mk-oi", `${shares(s.perp.oiLong, 2)} / ${shares(s.perp.oiShort < 0n ? -s.perp.oiShort : s.perp.oiShort, 2)} shares (${usd(m.notional(s.perp.oiLong, s.oracle.priceWad), 0)} / ${usd(m.notional(s.perp.oiShort, s.oracle.priceWad), 0)})`);
  set("mk-nav", usd(s.perp.poolNav));
  renderChart();
  // vault
  const w = s.wallet;
  const { collateral, debt } = s.vault;
  const price = s.oracle.priceWad;
  set("v-coll", `${fmtUnits(collateral, w.decimals)} ${w.cashSymbol}`);
  set("v-debt", `${shares(debt, 6)} ${w.synthSymbol}`);
  const p = vp();
  const crBps = debt && price ? m.collateralRatioBps(collateral, debt, price, w.upu) : null;
  set("v-cr", crBps === null ? "no debt" : `${pct(crBps)} (minimum ${pct(p.mcrBps, 0)}, liquidated under ${pct(p.liquidationRatioBps, 0)})`);
  const liq = m.vaultLiquidationPrice(collateral, debt, p, w.upu);
  set("v-liq", liq === null ? "none (no debt)" : usd(liq));
  set("v-max", `${shares(s.vault.maxMintable, 6)} ${w.synthSymbol}`);
  set("v-fee", `${pct(p.stabilityFeeBps)} a year on debt, accrued by the second`);
  set("v-fee-accrued", feeAccrued(s));
  set("v-div", dividendWords(st.divs.vault, "your sTSLA received", "your debt paid"));
  set("p-div", dividendWords(st.divs.perp, "received long", "paid short"));
  set("v-fund", `${shares(s.vault.feeSynth, 8)} ${w.synthSymbol} (the insurance fund's stability fees, at the oracle price)`);
  set("v-wallet", st.account ? `${fmtUnits(w.cash, w.decimals)} ${w.cashSymbol}, ${shares(w.synth, 6)} ${w.synthSymbol}` : "connect a wallet");
  const scale = 40_000; // gauge spans 0..400%
  $("v-gauge-fill").style.width = `${Math.min(Number(crBps ?? 0n) / scale, 1) * 100}%`;
  $("v-gauge-fill").style.background = crBps === null ? "transparent" : crBps < p.mcrBps ? "var(--bad)" : crBps < p.mcrBps + 5000n ? "var(--warn)" : "var(--ok)";
  $("v-gauge-mcr").style.left = `${(Number(p.mcrBps) / scale) * 100}%`;
  $("v-gauge-liq").style.left = `${(Number(p.liquidationRatioBps) / scale) * 100}%`;
  set("v-gauge-legend", `gauge 0–400%: red mark = liquidation ratio ${pct(p.liquidationRatioBps, 0)}, amber = MCR ${pct(p.mcrBps, 0)}`);
  vaultPreview();
  repayPreview();
  // perp
  const pos = s.perp.position;
  const q = pp();
  const idx = indexNow(s);
  set("p-margin", usd(pos.margin));
  set("p-size", pos.size ? `${shares(pos.size, 6)} (${pos.size > 0n ? "long" : "short"})` : "no position");
  set("p-entry", pos.size ? usd(pos.entryPrice) : "–");
  const upnl = m.pnl(pos, price);
  set("p-pnl", pos.size ? usd(upnl) : "–");
  set("p-funding", pos.size ? usd(m.fundingOwed(pos.size, idx, pos.fundingEntry)) : "–");
  const eq = m.equity(pos, price, idx);
  set("p-equity", usd(eq));
  const notional = m.notional(pos.size, price);
  set("p-lev", pos.size && eq > 0n ? `${(Number(notional) / Number(eq)).toFixed(2)}x` : "–");
  const lp = m.perpLiquidationPrice(pos, idx, q);
  set("p-liq", !pos.size ? "–" : lp === null ? "none (no price liquidates it)" : `about ${usd(lp)}`);
  const need = m.requirement(pos.size, price, q.maintenanceMarginBps) + m.keeperReward(pos.size, price, q);
  set("p-health", pos.size ? `${(Number(eq) / Number(need)).toFixed(2)} (1.00 = liquidatable)` : "–");
  set("p-withdrawable", usd(m.withdrawable(pos, price, idx, q)));
  set("p-order", orderState(s));
  perpEstimate();
  renderConditional(s);
  // pool
  set("l-nav", usd(s.perp.poolNav));
  set("l-assets", `${fmtUnits(s.pool.totalAssets, w.decimals)} ${w.cashSymbol}`);
  const one = 10n ** BigInt(s.pool.decimals); // one share in its own units
  set("l-share", s.pool.supply ? `${fmtUnits((s.pool.totalAssets * one) / s.pool.supply, w.decimals, 6)} ${w.cashSymbol} per share` : "–");
  set("l-required", usd(s.perp.requiredNav));
  set("l-pnl", usd(s.perp.poolPnl));
  set("l-fees", `${usd(st.fees.wad)} from ${st.fees.fills.toLocaleString("en-US")} fills since the market's deployment (what traders lose also goes to the pool: its PnL above)`);
  set("l-mine", fmtUnits(s.pool.shares, s.pool.decimals, 4));
  set("l-value", `${fmtUnits(s.pool.value, w.decimals)} ${w.cashSymbol}`);
  set("l-lock", s.pool.unlockAt > s.now ? `locked until ${when(s.pool.unlockAt)} (in ${duration(s.pool.unlockAt - s.now)})` : "unlocked");
  set("l-note", `A deposit locks your whole pool balance for ${duration(s.pool.lockS)} (no just-in-time LP).`);
  renderSynth(s);
}

/** The Synth screen: the stability pool and the redemption's price, fee and preview. */
function renderSynth(s: Snapshot) {
  const w = s.wallet, sym = w.synthSymbol, sp = s.sp;
  set("sp-wallet", `${shares(w.synth, 6)} ${sym}`);
  set("r-wallet", `${shares(w.synth, 6)} ${sym}`);
  set("r-price", s.oracle.hasPrice ? usd(s.oracle.priceWad) : "no price yet");
  const fee = m.redemptionFeeWad(s.vault.baseRate, 0n, s.vault.synthSupply || 1n);
  set("r-fee", `${pctWad(fee)} (the 0.5% floor + the base rate ${pctWad(s.vault.baseRate)}), more for a large redemption`);
  if (!sp) {
    for (const id of ["sp-active", "sp-waiting", "sp-gains", "sp-total", "sp-held"]) set(id, "–");
    set("sp-note", "This deployment has no stability pool.");
  } else {
    set("sp-active", `${shares(sp.active, 6)} ${sym}`);
    const joins = st.joinsAt && st.joinsAt.waiting === sp.waiting ? st.joinsAt.at : null;
    set("sp-waiting", sp.waiting ? `${shares(sp.waiting, 6)} ${sym}${joins ? `, joins ${when(joins)}${joins > s.now ? ` (in ${duration(joins - s.now)})` : ""}` : ""}` : "none");
    set("sp-gains", `${fmtUnits(sp.gains, w.decimals, 6)} ${w.cashSymbol}`);
    set("sp-total", `${shares(sp.total, 4)} / ${shares(sp.pendingTotal, 4)} ${sym}`);
    set("sp-held", `${fmtUnits(sp.collateralHeld, w.decimals)} ${w.cashSymbol}`);
    set("sp-note", "Your synth absorbs vault liquidations: the pool burns it for the seized collateral, worth more than the debt by the penalty, shared pro rata. A deposit joins at the start of the second hour-window after it (no gains before, no losses: it can be withdrawn). Withdrawals and claims need no price.");
  }
  redeemPreview(s);
}

const pctWad = (x: bigint) => `${fmtUnits(x * 100n, 18, 3)}%`;

function orderState(s: Snapshot): string {
  const o = s.perp.order;
  if (!o.committed_at) return "none";
  const side = o.size_delta > 0n ? "buy" : "sell";
  const age = s.now - Number(o.committed_at);
  if (age > s.perp.orderMaxAge) return `${side} ${shares(o.size_delta < 0n ? -o.size_delta : o.size_delta, 6)}: expired (${age} s old) — cancel it`;
  const newer = s.oracle.updatedAt > Number(o.committed_at);
  return `${side} ${shares(o.size_delta < 0n ? -o.size_delta : o.size_delta, 6)} at worst ${usd(o.acceptable_price)}: ${newer ? "a newer price exists — a keeper fills it now (or execute it yourself)" : "waiting for the next oracle price"} (${age} s)`;
}

function renderChart() {
  const pts = st.chart;
  if (pts.length < 2) return;
  const ps = pts.map((x) => x.p);
  const lo = Math.min(...ps), hi = Math.max(...ps);
  // one step per round (a close or a weekend is one step, not a flat stretch)
  const path = pts.map((x, i) => `${((i / (pts.length - 1)) * 300).toFixed(1)},${(130 - ((x.p - lo) / Math.max(hi - lo, 1e-9)) * 120).toFixed(1)}`).join(" ");
  $("mk-chart").innerHTML = `<polyline fill="none" stroke="#4c8dff" stroke-width="1.5" points="${path}"/>`;
  set("mk-range", `${pts.length} rounds, $${lo.toFixed(2)} – $${hi.toFixed(2)}`);
}

// ---- previews -------------------------------------------------------------------------------
function amount(id: string, decimals: number, what: string): bigint | string | null {
  const t = val(id);
  return t.trim() ? parseAmount(t, decimals, what) : null;
}

function vaultPreview() {
  const s = st.snap!;
  const c = amount("v-coll-in", s.wallet.decimals, "collateral");
  const d = amount("v-synth-in", 18, "synth");
  if (typeof c === "string" || typeof d === "string") return set("v-preview", (c as string) || (d as string));
  if (c === null && d === null) return set("v-preview", "Preview: enter an amount");
  const after = (coll: bigint, debt: bigint) => {
    const cr = debt ? m.collateralRatioBps(coll, debt, s.oracle.priceWad, s.wallet.upu) : null;
    const liq = m.vaultLiquidationPrice(coll, debt, vp(), s.wallet.upu);
    return `collateral ${fmtUnits(coll, s.wallet.decimals)}, debt ${shares(debt, 6)}, CR ${cr === null ? "–" : pct(cr)}, liquidation price ${liq === null ? "none" : usd(liq)}`;
  };
  const { collateral, debt } = s.vault;
  const down = (x: bigint, by: bigint | null) => (by !== null && by <= x ? x - by : null);
  const [lessColl, lessDebt] = [down(collateral, c), down(debt, d)];
  const burnWithdraw = (c === null || lessColl !== null) && (d === null || lessDebt !== null) && (collateral || debt)
    ? ` | After burn/withdraw: ${after(lessColl ?? collateral, lessDebt ?? debt)}` : "";
  set("v-preview", `After open/deposit/mint: ${after(collateral + (c ?? 0n), debt + (d ?? 0n))}${burnWithdraw}`);
}

function orderSize(s: Snapshot): bigint | string | null {
  const sz = amount("p-size-in", 18, "size");
  if (sz !== null) return sz;
  const notional = amount("p-usd-in", 18, "notional");
  if (typeof notional === "string") return notional;
  if (notional !== null) return (notional * m.WAD) / s.oracle.priceWad; // shares, rounded down
  const lev = val("p-lev-in").trim();
  if (!lev) return null;
  const x = Number(lev);
  if (!(x > 0)) return `leverage: ${JSON.stringify(lev)} is not a number above 0`;
  const eq = m.equity(s.perp.position, s.oracle.priceWad, indexNow(s)) - s.perp.keeperFee;
  if (eq <= 0n) return "deposit margin first: leverage is a multiple of your equity";
  // size = equity x leverage / price, less the taker fee's share (rounded down)
  const levBps = BigInt(Math.round(x * 10_000));
  const target = (eq * levBps * m.WAD) / (10_000n * s.oracle.priceWad);
  return (target * 9_980n) / 10_000n - (s.perp.position.size > 0n ? s.perp.position.size : -s.perp.position.size);
}

function perpEstimate() {
  const s = st.snap!;
  const size = orderSize(s);
  if (size === null) return set("p-estimate", "Estimate: enter a size, a notional or a leverage");
  if (typeof size === "string") return set("p-estimate", size);
  set("p-estimate", estimateText({ priceWad: s.oracle.priceWad, skew: s.perp.skew, size, keeperFee: s.perp.keeperFee, p: pp() }));
}

// ---- actions --------------------------------------------------------------------------------
interface Call { address: Address; abi: Abi; functionName: string; args: unknown[]; what: string }

async function act(screen: Screen, label: string, plan: () => string | Call[] | Promise<string | Call[]>) {
  if (st.busy) return msg(screen, "info", "another action is in progress: wait for it");
  msg(screen, "info", `${label}: checking…`);
  await refresh();
  if (!st.account || !st.wc) return msg(screen, "refused", "connect a wallet first (read-only mode)");
  let calls: string | Call[];
  try {
    calls = await plan();
  } catch (e) {
    return msg(screen, "refused", String((e as Error).message ?? e));
  }
  if (typeof calls === "string") return msg(screen, "refused", calls);
  st.busy = true;
  try {
    for (const [i, c] of calls.entries()) {
      // a simulation first: a revert is shown in words before the wallet is asked
      // (an approval's effect is not visible to the simulation of the call after it)
      if (i === 0 || calls[i - 1].functionName !== "approve") {
        try {
          await st.pc.simulateContract({ account: st.account, address: c.address, abi: c.abi, functionName: c.functionName, args: c.args } as never);
        } catch (e) {
          return msg(screen, "error", `${reason(e)} (${c.what}; nothing sent)`);
        }
      }
      msg(screen, "info", `${label}: ${c.what} — confirm in your wallet (${i + 1}/${calls.length})`);
      const hash = await st.wc.writeContract({ account: st.account, chain: st.wc.chain, address: c.address, abi: c.abi, functionName: c.functionName, args: c.args } as never);
      const rcpt = await st.pc.waitForTransactionReceipt({ hash });
      if (rcpt.status !== "success") {
        let why = "the transaction reverted";
        try {
          await st.pc.simulateContract({ account: st.account, address: c.address, abi: c.abi, functionName: c.functionName, args: c.args, blockNumber: rcpt.blockNumber - 1n } as never);
        } catch (e) {
          why = reason(e);
        }
        return msg(screen, "error", `${why} (${c.what})`);
      }
    }
    msg(screen, "ok", `${label}: done`);
  } catch (e) {
    msg(screen, "error", reason(e));
  } finally {
    st.busy = false;
    await loadFeeBase().catch(() => undefined);
    await refresh();
  }
}

const call = (address: Address, a: readonly unknown[], functionName: string, args: unknown[], what: string): Call =>
  ({ address, abi: a as Abi, functionName, args, what });

/** An ERC-20 approval when the allowance is short (the mock's ABI: the same `approve` as
 * every ERC-20, the synth's included). */
function approve(token: Address, spender: Address, have: bigint, need: bigint, what: string): Call[] {
  return have >= need ? [] : [call(token, abi.MockStablecoin, "approve", [spender, need], `approve ${what}`)];
}

function need<T>(x: T | string | null, what: string): T {
  if (x === null) throw new Error(`${what}: enter an amount`);
  if (typeof x === "string") throw new Error(x);
  return x;
}

function vaultActions() {
  const cash = () => need(amount("v-coll-in", st.snap!.wallet.decimals, "collateral"), "collateral");
  const synth = () => need(amount("v-synth-in", 18, "synth"), "synth");
  const dec = () => st.snap!.wallet.decimals;
  $("v-deposit").onclick = () => act("vault", "deposit", async () => {
    const s = st.snap!, a = cash();
    return first(balanceProblem(s.wallet.cash, a, dec(), s.wallet.cashSymbol)) ??
      [...approve(mk.collateral, mk.vault, s.wallet.allowVault, a, "the vault to take your collateral"),
        call(mk.vault, abi.SynthVault, "deposit", [a, ...await listHints(s, s.vault.collateral + a, s.vault.debt)], `deposit ${fmtUnits(a, dec())}`)];
  });
  $("v-open").onclick = () => act("vault", "open", async () => {
    const s = st.snap!, a = cash(), d = synth();
    const p = vp();
    const problem = first(
      riskProblem(s, s.vault.maxAge),
      balanceProblem(s.wallet.cash, a, dec(), s.wallet.cashSymbol),
      m.isBelow((s.vault.collateral + a) * s.wallet.upu, s.vault.debt + d, s.oracle.priceWad, p.mcrBps)
        ? mintProblem(maxMint(s.vault.collateral + a, s.vault.debt, s), d, s.wallet.synthSymbol) : null,
      m.isDust(s.vault.debt + d, s.oracle.priceWad, p) ? `debt below minimum: at least ${usd(p.minDebtUsd, 0)} worth of ${s.wallet.synthSymbol}` : null,
    );
    return problem ?? [...approve(mk.collateral, mk.vault, s.wallet.allowVault, a, "the vault to take your collateral"),
      call(mk.vault, abi.SynthVault, "open", [a, d, ...await listHints(s, s.vault.collateral + a, s.vault.debt + d)], `open: ${fmtUnits(a, dec())} collateral, mint ${shares(d, 6)}`)];
  });
  $("v-mint").onclick = () => act("vault", "mint", async () => {
    const s = st.snap!, d = synth(), p = vp();
    return first(riskProblem(s, s.vault.maxAge), mintProblem(s.vault.maxMintable, d, s.wallet.synthSymbol),
      m.isDust(s.vault.debt + d, s.oracle.priceWad, p) ? `debt below minimum: at least ${usd(p.minDebtUsd, 0)} worth of ${s.wallet.synthSymbol}` : null) ??
      [call(mk.vault, abi.SynthVault, "mint", [d, ...await listHints(s, s.vault.collateral, s.vault.debt + d)], `mint ${shares(d, 6)}`)];
  });
  $("v-burn").onclick = () => act("vault", "burn", async () => {
    const s = st.snap!, d = synth(), p = vp();
    const problem = first(
      d > s.vault.debt ? `you owe ${shares(s.vault.debt, 6)} ${s.wallet.synthSymbol}: burn at most that (or Close)` : null,
      d === s.vault.debt || m.isDust(s.vault.debt - d, s.oracle.priceWad, p)
        ? `burning ${shares(d, 6)} would leave under ${usd(p.minDebtUsd, 0)} of debt (it grows each second): burn less, or Close to repay in full` : null);
    if (problem) return problem;
    const burn = call(mk.vault, abi.SynthVault, "burn", [d, ...await listHints(s, s.vault.collateral, s.vault.debt - d)], `burn ${shares(d, 6)}`);
    return d > s.wallet.synth ? withBuy(s, d, "this burn", burn) : [burn];
  });
  $("v-withdraw").onclick = () => act("vault", "withdraw", async () => {
    const s = st.snap!, a = cash(), p = vp();
    const locked = s.vault.debt ? m.ceilDiv(s.vault.debt * s.oracle.priceWad * p.mcrBps, m.BPS * m.WAD * s.wallet.upu) : 0n;
    const free = s.vault.collateral > locked ? s.vault.collateral - locked : 0n;
    return first(riskProblem(s, s.vault.maxAge), withdrawProblem(free, a, dec(), "collateral")) ??
      [call(mk.vault, abi.SynthVault, "withdraw", [a, ...await listHints(s, s.vault.collateral - a, s.vault.debt)], `withdraw ${fmtUnits(a, dec())}`)];
  });
  $("v-close").onclick = () => act("vault", "close", async () => {
    const s = st.snap!;
    if (!s.vault.collateral && !s.vault.debt) return "no vault position to close";
    const close = call(mk.vault, abi.SynthVault, "close", [(await listHints(s, 0n, 0n))[0]], `close: repay ${shares(s.vault.debt, 6)}, get ${fmtUnits(s.vault.collateral, dec())} back`);
    const owed = closeNeeds(s);
    return owed > s.wallet.synth ? withBuy(s, owed, "closing", close) : [close];
  });
  $("v-buy-fee").onclick = () => act("vault", "buy fee synth", () => buyFeeSynth(st.snap!, synth()));
}

/** What a full repay takes: the debt a minute from now (the fee accrues by the second until
 * the close is mined; `synthequity.model.vault` `rate_at`/`debt_at`). */
const closeNeeds = (s: Snapshot) => m.debtIn(s.vault.debt, s.vault.rateIndex, CLOSE_MARGIN_S, vp());
const CLOSE_MARGIN_S = 60n;
const FEE_SYNTH_BOUND_BPS = 100n; // max_paid: the cost at the price now + 1%

/** Buying `amount` of the insurance fund's fee synth (`buy_fee_synth`): the vault's own
 * rules first (a usable price, at most what the fund holds, the cost in the wallet), then
 * the approval when short, then the purchase with `max_paid` = cost + 1%. */
function buyFeeSynth(s: Snapshot, amount: bigint): string | Call[] {
  const w = s.wallet;
  const cost = m.feeSynthCost(amount, s.oracle.priceWad, w.upu);
  const maxPaid = m.ceilDiv(cost * (m.BPS + FEE_SYNTH_BOUND_BPS), m.BPS);
  const price = riskProblem(s, s.vault.maxAge);
  const problem = first(
    price && `buying the insurance fund's synth needs a usable price: ${price}`,
    amount > s.vault.feeSynth
      ? `the insurance fund holds ${shares(s.vault.feeSynth, 8)} ${w.synthSymbol} of stability fees for sale; this needs ${shares(amount, 8)} (buy it on a market)` : null,
    balanceProblem(w.cash, maxPaid, w.decimals, w.cashSymbol, 6),
  );
  if (problem) return problem;
  return [...approve(st.market.collateral, st.market.vault, w.allowVault, maxPaid, "the vault to take the fee synth's price"),
    call(st.market.vault, abi.SynthVault, "buy_fee_synth", [amount, maxPaid],
      `buy ${shares(amount, 8)} ${w.synthSymbol} from the insurance fund for ≈ ${fmtUnits(cost, w.decimals, 6)} ${w.cashSymbol} (at most ${fmtUnits(maxPaid, w.decimals, 6)})`)];
}

/** `next` needs `need` synth in the wallet, which holds less: the purchase of the rest when
 * the user ticked it, else a refusal that says what it would cost. */
function withBuy(s: Snapshot, need: bigint, what: string, next: Call): string | Call[] {
  const w = s.wallet;
  const short = need - w.synth;
  if (!$<HTMLInputElement>("v-buy").checked) {
    const cost = m.feeSynthCost(short, s.oracle.priceWad, w.upu);
    return `insufficient ${w.synthSymbol}: you have ${shares(w.synth, 8)}, ${what} needs ${shares(need, 8)} (the debt grows by the stability fee each second); tick "Buy the missing synth" to buy ${shares(short, 8)} from the insurance fund for ≈ ${fmtUnits(cost, w.decimals, 6)} ${w.cashSymbol}`;
  }
  const buy = buyFeeSynth(s, short);
  return typeof buy === "string" ? buy : [...buy, next];
}

/** The stability fee as an amount: the debt now (the vault's view) less the debt right
 * after your last mint, burn or liquidation (its event), and the next day's at this debt. */
function feeAccrued(s: Snapshot): string {
  const { debt, rateIndex } = s.vault;
  if (!debt) return "none (no debt)";
  const sym = s.wallet.synthSymbol;
  const day = m.debtIn(debt, rateIndex, m.DAY, vp()) - debt;
  const perDay = `≈ ${shares(day, 8)} ${sym} (${usd(m.notional(day, s.oracle.priceWad), 4)}) a day at this debt`;
  if (!st.feeBase || st.feeBase.debt > debt) return perDay;
  const acc = debt - st.feeBase.debt;
  return `${shares(acc, 8)} ${sym} (${usd(m.notional(acc, s.oracle.priceWad), 4)}) since block ${st.feeBase.block}; ${perDay}`;
}

/** The close's plan in words, before any click: what it needs, what is missing, its price. */
function repayPreview() {
  const s = st.snap!, w = s.wallet;
  if (!s.vault.debt) return set("v-repay", "");
  const need = closeNeeds(s);
  const short = need - w.synth;
  const head = `Close needs ≈ ${shares(need, 8)} ${w.synthSymbol} (your debt a minute from now); you hold ${shares(w.synth, 8)}`;
  if (short <= 0n) return set("v-repay", `${head}: enough.`);
  const cost = m.feeSynthCost(short, s.oracle.priceWad, w.upu);
  set("v-repay", `${head}: short ${shares(short, 8)}, from the insurance fund for ≈ ${fmtUnits(cost, w.decimals, 6)} ${w.cashSymbol} (it holds ${shares(s.vault.feeSynth, 8)}).`);
}

/** The most `coll` lets mint over `debt` at the MCR (`maxMintable`, the vault's formula). */
const maxMint = (coll: bigint, debt: bigint, s: Snapshot) =>
  m.maxMintable(coll, debt, s.oracle.priceWad, vp().mcrBps, s.wallet.upu);

function perpActions() {
  const dec = () => st.snap!.wallet.decimals;
  $("p-deposit").onclick = () => act("perp", "deposit margin", () => {
    const s = st.snap!, a = need(amount("p-margin-in", dec(), "margin"), "margin");
    return first(balanceProblem(s.wallet.cash, a, dec(), s.wallet.cashSymbol)) ??
      [...approve(mk.collateral, mk.perp, s.wallet.allowPerp, a, "the market to take your margin"), call(mk.perp, abi.PerpMarket, "deposit_margin", [a], `deposit margin ${fmtUnits(a, dec())}`)];
  });
  $("p-withdraw").onclick = () => act("perp", "withdraw margin", () => {
    const s = st.snap!, a = need(amount("p-margin-in", dec(), "margin"), "margin");
    const free = m.withdrawable(s.perp.position, s.oracle.priceWad, indexNow(s), pp()) / s.wallet.upu;
    return first(riskProblem(s, s.perp.maxAge), withdrawProblem(free, a, dec(), "margin")) ??
      [call(mk.perp, abi.PerpMarket, "withdraw_margin", [a], `withdraw margin ${fmtUnits(a, dec())}`)];
  });
  const order = (sign: 1n | -1n, what: string) => () => {
    const s = st.snap!;
    const size = orderSize(s);
    if (size === null) return "enter a size, a notional or a leverage";
    if (typeof size === "string") return size;
    if (size <= 0n) return "that leverage is already reached: nothing to add";
    return commit(s, sign * size, what);
  };
  $("p-long").onclick = () => act("perp", "long", order(1n, "long order"));
  $("p-short").onclick = () => act("perp", "short", order(-1n, "short order"));
  $("p-close").onclick = () => act("perp", "close", () => {
    const s = st.snap!;
    if (!s.perp.position.size) return "no open position";
    return commit(s, -s.perp.position.size, "close");
  });
  $("p-cancel").onclick = () => act("perp", "cancel", () => {
    const s = st.snap!;
    if (!s.perp.order.committed_at) return "no pending order";
    return [call(mk.perp, abi.PerpMarket, "cancel_order", [st.account], "cancel the pending order")];
  });
  $("p-execute").onclick = () => act("perp", "execute", () => {
    const s = st.snap!;
    if (!s.perp.order.committed_at) return "no pending order";
    if (s.oracle.updatedAt <= Number(s.perp.order.committed_at)) return "no price newer than your order yet: wait for the next oracle round";
    return first(riskProblem(s, s.perp.maxAge)) ?? [call(mk.perp, abi.PerpMarket, "execute_order", [st.account], "execute your order at the first newer price")];
  });
}

// ---- conditional orders (PerpOrders) ---------------------------------------------------------
function describeOrder(o: { kind: number; size_delta: bigint; trigger_price: bigint; acceptable_price: bigint; keeper_fee: bigint }): string {
  const side = o.size_delta > 0n ? "buy" : "sell";
  const mag = o.size_delta < 0n ? -o.size_delta : o.size_delta;
  const size = mag === m.SIZE_ALL ? "the whole position" : `${shares(mag, 6)} shares`;
  const bound = o.acceptable_price === 0n || o.acceptable_price === m.PRICE_MAX ? "any price" : `worst ${usd(o.acceptable_price)}`;
  return `${m.KIND_NAMES[o.kind]} ${side} ${size} at ${usd(o.trigger_price)} (${bound}, fee ${usd(o.keeper_fee)})`;
}

function renderConditional(s: Snapshot) {
  const list = $("p-cond-list");
  const b = s.book;
  const html = !b ? `<li class="dim">no conditional-order book in this deployment</li>`
    : !b.orders.length ? `<li class="dim">none</li>`
    : b.orders.map((o) => {
      const state = o.fillRound ? "triggered — a keeper executes it now (or execute it yourself)" : "waiting";
      return `<li id="p-cond-${o.id}">#${o.id} ${describeOrder(o)}, expires ${when(Number(o.expiry))}: <span class="state">${state}</span> `
        + `<button data-cancel="${o.id}" ${o.fillRound ? "disabled" : ""}>Cancel</button> `
        + `<button data-move="${o.id}" ${o.fillRound ? "disabled" : ""}>Move to the form's trigger</button>`
        + (o.fillRound ? ` <button data-exec="${o.id}">Execute</button>` : "") + "</li>";
    }).join("");
  if (list.dataset.html !== html) { list.innerHTML = html; list.dataset.html = html; }
}

function conditionalActions() {
  $("p-cond-list").onclick = (e) => {
    const t = e.target as HTMLElement;
    const cancel = t.dataset.cancel, exec = t.dataset.exec, move = t.dataset.move;
    if (move !== undefined) act("perp", "move order", () => {
      const s = st.snap!, b = s.book!;
      const o = b.orders.find((x) => x.id === Number(move));
      if (!o) return `no conditional order ${move}`;
      if (o.fillRound) return `order ${move} is triggered: it cannot be moved in its window (${b.window} s after the price)`;
      const trigger = need(amount("p-cond-trigger", 18, "trigger price"), "trigger price");
      if (trigger <= 0n) return "trigger price: above 0";
      const slipText = val("p-cond-slip").trim();
      const reduce = o.kind === m.TAKE_PROFIT || o.kind === m.STOP_LOSS;
      const slip = slipText ? BigInt(slipText) : reduce ? null : 100n;
      if (slip !== null && (slip < 0n || slip > 5_000n)) return "slippage bound: between 0 and 5000 bps";
      const acceptable = m.acceptablePrice(o.size_delta, trigger, slip);
      const days = Number(val("p-cond-days").trim() || "7");
      if (!(days > 0 && days <= 365)) return "expiry: between 0 and 365 days";
      const expiry = BigInt(s.now + Math.round(days * 86_400));
      return [call(b.address, abi.PerpOrders, "update", [BigInt(o.id), trigger, acceptable, expiry], `move #${o.id} to ${usd(trigger)}: it then waits for a price pushed after now`)];
    });
    if (cancel !== undefined) act("perp", "cancel order", () => {
      const b = st.snap!.book!;
      const o = b.orders.find((x) => x.id === Number(cancel));
      if (!o) return `no conditional order ${cancel}`;
      if (o.fillRound) return `order ${cancel} is triggered: a keeper may execute it until its window (${b.window} s after the price) passes; cancel after that`;
      return [call(b.address, abi.PerpOrders, "cancel", [st.account, BigInt(o.id)], `cancel #${o.id}: the ${usd(o.keeper_fee)} fee back to your margin`)];
    });
    if (exec !== undefined) act("perp", "execute order", () => {
      const s = st.snap!, b = s.book!;
      const o = b.orders.find((x) => x.id === Number(exec));
      if (!o || !o.fillRound) return `order ${exec} is not triggered`;
      if (s.perp.order.committed_at) return "your market order is pending: it fills first";
      return [call(b.address, abi.PerpOrders, "execute", [st.account, BigInt(o.id), o.fillRound], `execute #${o.id} at round ${o.fillRound} (its fee to you)`)];
    });
  };
  $("p-cond-place").onclick = () => act("perp", "place order", () => {
    const s = st.snap!, b = s.book;
    if (!b) return "no conditional-order book in this deployment";
    if (b.freeSlot === null) return "all 8 order slots are in use: cancel one first";
    if (s.perp.position.margin < b.minFee) return `not enough margin for the ${usd(b.minFee)} keeper fee: deposit margin first`;
    const kind = Number($<HTMLSelectElement>("p-cond-kind").value);
    const trigger = need(amount("p-cond-trigger", 18, "trigger price"), "trigger price");
    if (trigger <= 0n) return "trigger price: above 0";
    const size = amount("p-cond-size", 18, "size");
    if (typeof size === "string") return size;
    const slipText = val("p-cond-slip").trim();
    const reduce = kind === m.TAKE_PROFIT || kind === m.STOP_LOSS;
    const slip = slipText ? BigInt(slipText) : reduce ? null : 100n;
    if (slip !== null && (slip < 0n || slip > 5_000n)) return "slippage bound: between 0 and 5000 bps";
    const days = Number(val("p-cond-days").trim() || "7");
    if (!(days > 0 && days <= 365)) return "expiry: between 0 and 365 days";
    let delta: bigint;
    if (reduce) {
      const held = s.perp.position.size;
      if (!held) return `no open position to attach a ${m.KIND_NAMES[kind]} to`;
      const side = m.triggerSide(kind, held);
      if (s.oracle.hasPrice && (side === "above" ? trigger <= s.oracle.priceWad : trigger >= s.oracle.priceWad))
        return `a ${m.KIND_NAMES[kind]} for this ${held > 0n ? "long" : "short"} goes ${side} the price (${usd(s.oracle.priceWad)})`;
      if (size !== null && size <= 0n) return "size: above 0";
      delta = m.reduceDelta(held, size);
    } else {
      if (size === null || size <= 0n) return "enter a size above 0";
      delta = $<HTMLSelectElement>("p-cond-side").value === "buy" ? size : -size;
    }
    const acceptable = m.acceptablePrice(delta, trigger, slip);
    const expiry = BigInt(s.now + Math.round(days * 86_400));
    const o = { kind, size_delta: delta, trigger_price: trigger, acceptable_price: acceptable, keeper_fee: b.minFee };
    return [call(b.address, abi.PerpOrders, "place", [BigInt(b.freeSlot), kind, delta, trigger, acceptable, expiry, b.minFee], `place #${b.freeSlot}: ${describeOrder(o)}`)];
  });
}

function commit(s: Snapshot, delta: bigint, what: string): string | Call[] {
  const problem = riskProblem(s, s.perp.maxAge);
  if (problem) return problem;
  if (s.perp.order.committed_at) return "an order is already pending: wait for the keeper, or cancel it";
  const q = pp();
  const price = s.oracle.priceWad;
  const pos = s.perp.position;
  const next = pos.size + delta;
  const fill = m.fillPrice(price, s.perp.skew, delta, q);
  const slip = BigInt(val("p-slip-in").trim() || "100");
  if (slip < 1n || slip > 1000n) return "slippage bound: between 1 and 1000 bps";
  const bound = m.slippageBound(price, delta, slip);
  const fee = m.orderFee(s.perp.skew, delta, fill, q);
  const equity = m.equity(pos, price, indexNow(s)) - fee - s.perp.keeperFee;
  const grows = m.grows(pos.size, next);
  const needEq = m.minEquity(next, price, grows ? q.initialMarginBps : q.maintenanceMarginBps, q);
  if (next !== 0n && equity < needEq)
    return `not enough margin: ${what} needs ${usd(needEq)} of equity (5x at most, the ${usd(q.minMarginUsd)} minimum; you would have ${usd(equity > 0n ? equity : 0n)} after fees); deposit more margin${grows ? "" : ", or close the whole position"}`;
  return [call(st.market.perp, abi.PerpMarket, "commit_order", [delta, bound], `${what}: ${shares(delta, 6)} shares, fill ≈ ${usd(fill)}, worst ${usd(bound)}`)];
}

function poolActions() {
  const dec = () => st.snap!.wallet.decimals;
  $("l-deposit").onclick = () => act("pool", "pool deposit", () => {
    const s = st.snap!, a = need(amount("l-amount", dec(), "amount"), "amount");
    return first(riskProblem(s, s.perp.maxAge), balanceProblem(s.wallet.cash, a, dec(), s.wallet.cashSymbol)) ??
      [...approve(mk.collateral, mk.pool, s.wallet.allowPool, a, "the pool to take your deposit"), call(mk.pool, abi.LiquidityPool, "deposit", [a, st.account], `deposit ${fmtUnits(a, dec())} into the pool`)];
  });
  $("l-withdraw").onclick = () => act("pool", "pool withdraw", () => {
    const s = st.snap!, a = need(amount("l-amount", dec(), "amount"), "amount");
    if (s.pool.unlockAt > s.now) return `pool: locked until ${when(s.pool.unlockAt)} (in ${duration(s.pool.unlockAt - s.now)}): a deposit locks your whole pool balance for ${duration(s.pool.lockS)}`;
    return first(riskProblem(s, s.perp.maxAge), withdrawProblem(s.pool.value, a, dec(), "pool")) ??
      [call(mk.pool, abi.LiquidityPool, "withdraw", [a, st.account, st.account], `withdraw ${fmtUnits(a, dec())} from the pool`)];
  });
}

// ---- synth: redeem and the stability pool ---------------------------------------------------
interface RedeemQuote { plan: m.RedemptionPlan; feeWad: bigint; paid: bigint }

/** The redemption of `want` at the snapshot's price against `entries` (the sorted list). */
function quote(s: Snapshot, entries: readonly m.ListEntry[], want: bigint): RedeemQuote {
  const plan = m.planRedemption(entries, want, s.oracle.priceWad, vp(), s.wallet.upu, s.vault.rateIndex);
  const feeWad = m.redemptionFeeWad(s.vault.baseRate, plan.redeemed, s.vault.synthSupply || 1n);
  return { plan, feeWad, paid: plan.collateral - (plan.collateral * feeWad) / m.WAD };
}

let listCache: { block: bigint; entries: m.ListEntry[] } | null = null;

/** The vault's sorted-list hints for a call that leaves your position at `collateral` units
 * and `debt` (`relistHints`): without them the vault walks its list from the head, a read
 * per borrower ahead of you. */
async function listHints(s: Snapshot, collateral: bigint, debt: bigint): Promise<[string, string]> {
  return m.relistHints(await loadList(s), getAddress(st.account!), collateral, debt, s.vault.rateIndex, s.wallet.upu);
}
async function loadList(s: Snapshot): Promise<m.ListEntry[]> {
  const block = s.block ?? 0n;
  if (listCache?.block === block) return listCache.entries;
  const entries = await sortedEntries(st.pc, st.market.vault);
  listCache = { block, entries };
  return entries;
}

/** The preview under the Redeem button: positions, fee and collateral, from the list read at
 * the last poll (the click reads it again). */
function redeemPreview(s: Snapshot) {
  const want = amount("r-amount", 18, "amount");
  if (want === null) return set("r-preview", "Preview: enter an amount");
  if (typeof want === "string") return set("r-preview", want);
  if (!s.oracle.hasPrice) return set("r-preview", "no price yet");
  void loadList(s).then((entries) => {
    const q = quote(s, entries, want);
    const w = s.wallet;
    set("r-preview", q.plan.redeemed
      ? `Redeems ${shares(q.plan.redeemed, 6)} ${w.synthSymbol} from ${q.plan.taken.length} position(s), riskiest first: ≈ ${fmtUnits(q.paid, w.decimals, 2)} ${w.cashSymbol} after a fee of ${pctWad(q.feeWad)} (at ${usd(s.oracle.priceWad)})${q.plan.redeemed < want ? `; only ${shares(q.plan.redeemed, 6)} is redeemable in one call now` : ""}`
      : "nothing to redeem: no position at or above the liquidation ratio has debt above the minimum");
  }).catch(() => undefined);
}

function synthActions() {
  const dec = () => st.snap!.wallet.decimals;
  const synthIn = (id: string) => need(amount(id, 18, "synth"), "synth");
  const pool = (s: Snapshot) => {
    if (!s.sp || !st.market.stabilityPool) throw new Error("this deployment has no stability pool");
    return { sp: s.sp, at: st.market.stabilityPool };
  };
  $("sp-deposit").onclick = () => act("synth", "pool deposit", () => {
    const s = st.snap!, a = synthIn("sp-amount"), { sp, at } = pool(s);
    const w = s.wallet;
    return first(balanceProblem(w.synth, a, 18, w.synthSymbol, 6)) ?? [
      ...approve(st.market.synth, at, sp.allowance, a, `the stability pool to take your ${w.synthSymbol}`),
      call(at, abi.StabilityPool, "deposit", [a], `deposit ${shares(a, 6)} ${w.synthSymbol} into the stability pool`)];
  });
  const withdraw = (all: boolean) => () => {
    const s = st.snap!, { sp, at } = pool(s), have = sp.active + sp.waiting;
    const a = all ? have : synthIn("sp-amount");
    if (have === 0n) return "nothing in the stability pool to withdraw";
    if (a > have) return `you have ${shares(have, 6)} ${s.wallet.synthSymbol} in the stability pool: withdraw at most that`;
    return [call(at, abi.StabilityPool, "withdraw", [all ? 2n ** 255n : a], `withdraw ${shares(a, 6)} ${s.wallet.synthSymbol} from the stability pool${sp.gains ? ` (and ${fmtUnits(sp.gains, dec(), 6)} ${s.wallet.cashSymbol} of gains)` : ""}`)];
  };
  $("sp-withdraw").onclick = () => act("synth", "pool withdraw", withdraw(false));
  $("sp-withdraw-all").onclick = () => act("synth", "pool withdraw", withdraw(true));
  $("sp-claim").onclick = () => act("synth", "claim", () => {
    const s = st.snap!, { sp, at } = pool(s);
    if (!sp.gains) return "no gains to claim";
    return [call(at, abi.StabilityPool, "claim", [], `claim ${fmtUnits(sp.gains, dec(), 6)} ${s.wallet.cashSymbol} of gains`)];
  });
  $("r-redeem").onclick = () => act("synth", "redeem", async () => {
    const s = st.snap!, w = s.wallet, want = synthIn("r-amount");
    const problem = first(balanceProblem(w.synth, want, 18, w.synthSymbol, 6), riskProblem(s, s.vault.maxAge));
    if (problem) return problem;
    listCache = null;
    const q = quote(s, await loadList(s), want);
    if (!q.plan.redeemed) return "nothing to redeem: no position at or above the liquidation ratio has debt above the minimum";
    const feeBps = (q.feeWad * m.BPS) / m.WAD;
    const t = val("r-max-fee").trim();
    const bound = t ? Math.round(Number(t) * 100) : Number(feeBps) + 51;
    if (!(bound >= 0 && bound <= 10_000)) return `highest fee: ${JSON.stringify(t)} is not a percentage between 0 and 100`;
    if (q.feeWad * m.BPS > BigInt(bound) * m.WAD) return `the fee is ${pctWad(q.feeWad)} now, above your highest fee ${(bound / 100).toFixed(2)}%`;
    return [call(st.market.vault, abi.SynthVault, "redeem", [q.plan.redeemed, BigInt(bound), q.plan.firstHint, q.plan.partialHint],
      `redeem ${shares(q.plan.redeemed, 6)} ${w.synthSymbol} for ≈ ${fmtUnits(q.paid, w.decimals, 2)} ${w.cashSymbol} (fee ${pctWad(q.feeWad)}, at most ${(bound / 100).toFixed(2)}%)`)];
  });
}

/** When the account's waiting pool deposit joins: its last Deposit event's `joins_at` (each
 * deposit moves all waiting synth to its own window). */
async function loadJoinsAt() {
  const s = st.snap, at = st.market.stabilityPool;
  if (!s?.sp || !at || !st.account || !s.sp.waiting) return void (st.joinsAt = null);
  if (st.joinsAt?.waiting === s.sp.waiting) return;
  const logs = await st.pc.getContractEvents({ address: at, abi: abi.StabilityPool as Abi, eventName: "Deposit", args: { depositor: st.account }, fromBlock: st.market.fromBlock });
  const last = logs[logs.length - 1];
  st.joinsAt = last ? { waiting: s.sp.waiting, at: Number((last.args as { joins_at: bigint }).joins_at) } : null;
}

// ---- history, chart, dev --------------------------------------------------------------------
async function history() {
  if (!st.account) return msg("history", "info", "connect a wallet to see your own events");
  const me = st.account.toLowerCase();
  const from = st.market.fromBlock;
  const sp = st.market.stabilityPool;
  const [v, p, l, d] = await Promise.all([
    st.pc.getContractEvents({ address: st.market.vault, abi: abi.SynthVault as Abi, fromBlock: from }),
    st.pc.getContractEvents({ address: st.market.perp, abi: abi.PerpMarket as Abi, fromBlock: from }),
    st.pc.getContractEvents({ address: st.market.pool, abi: abi.LiquidityPool as Abi, fromBlock: from }),
    sp ? st.pc.getContractEvents({ address: sp, abi: abi.StabilityPool as Abi, fromBlock: from }) : [],
  ]);
  const mine = [...v, ...p, ...l, ...d].filter((e) => {
    const a = e.args as Record<string, unknown>;
    return ["account", "owner", "holder", "buyer", "redeemer", "depositor"].some((k) => String(a?.[k] ?? "").toLowerCase() === me);
  }).filter((e) => !["Approval", "Transfer"].includes(e.eventName ?? ""));
  mine.sort((a, b) => Number(b.blockNumber - a.blockNumber) || (b.logIndex ?? 0) - (a.logIndex ?? 0));
  const shown = mine.slice(0, 100);
  const funding = await Promise.all(shown.map((e) => realizedFunding(e).catch(() => null)));
  const s = st.snap;
  const pos = s?.perp.position;
  set("h-open-funding", !s || !pos?.size ? "No open perp position: no funding accruing."
    : `Open position: funding accrued since your last fill ${fundingWords(m.fundingOwed(pos.size, indexNow(s), pos.fundingEntry))} (unrealized: settled into your margin at the next fill, from the market's views).`);
  $("h-rows").innerHTML = shown.map((e, i) => {
    const a = e.args as Record<string, unknown>;
    const details = Object.entries(a).filter(([k]) => !["account", "owner", "holder", "sender", "buyer", "redeemer", "depositor"].includes(k))
      .map(([k, x]) => `${k}=${typeof x === "bigint" ? (x > 10n ** 12n || x < -(10n ** 12n) ? fmtUnits(x, 18, 4) : x.toString()) : String(x).slice(0, 10)}`).join(", ");
    const f = funding[i];
    return `<tr><td>${e.blockNumber}</td><td>${e.eventName}</td><td>${f === null ? "" : fundingWords(f)}</td><td>${details}</td></tr>`;
  }).join("");
  msg("history", "info", `${mine.length} events of yours (fills, liquidations and the funding each realized, vault and pool moves)`);
}

const fundingWords = (owed: bigint) => (owed > 0n ? `paid ${usd(owed, 4)}` : owed < 0n ? `received ${usd(-owed, 4)}` : usd(0n, 4));

/** The funding a fill, liquidation or settlement realized (positive: the trader paid). The
 * market emits no funding event: it is the position's size and funding entry the block
 * before, against the funding index the event's block stored (`fundingOwed`, as the fill's
 * own `_realize`). null for other events. Needs state at past blocks (an archive RPC). */
async function realizedFunding(e: { eventName?: string; address: Address; blockNumber: bigint; transactionHash: string; logIndex: number }): Promise<bigint | null> {
  if (!["OrderFilled", "PositionLiquidated", "PositionSettled"].includes(e.eventName ?? "") || e.address.toLowerCase() !== st.market.perp.toLowerCase()) return null;
  const key = `${e.transactionHash}:${e.logIndex}`;
  const known = st.funding.get(key);
  if (known !== undefined) return known;
  const read = <T,>(functionName: string, args: unknown[], blockNumber: bigint) =>
    st.pc.readContract({ address: st.market.perp, abi: abi.PerpMarket, functionName, args, blockNumber } as never) as Promise<T>;
  const [before, state] = await Promise.all([
    read<{ size: bigint; funding_entry: bigint }>("position", [st.account], e.blockNumber - 1n),
    read<readonly [bigint, bigint, bigint]>("funding_state", [], e.blockNumber),
  ]);
  const owed = m.fundingOwed(before.size, state[1], before.funding_entry);
  st.funding.set(key, owed);
  return owed;
}

/** The debt right after the account's last mint, burn or liquidation: where "fee accrued"
 * counts from. */
async function loadFeeBase() {
  st.feeBase = null;
  if (!st.account) return;
  const me = st.account.toLowerCase();
  const logs = await st.pc.getContractEvents({ address: st.market.vault, abi: abi.SynthVault as Abi, fromBlock: st.market.fromBlock });
  for (const e of logs) {
    const a = e.args as Record<string, unknown>;
    if (["Mint", "Burn", "Liquidate"].includes(e.eventName ?? "") && String(a.account).toLowerCase() === me)
      st.feeBase = { debt: a.debt as bigint, block: e.blockNumber };
  }
}

async function selectMarket(i: number) {
  st.market = st.markets[i];
  st.snap = null;
  st.chart = [];
  st.chartFrom = st.market.fromBlock;
  st.funding.clear();
  st.joinsAt = null;
  st.fees = { wad: 0n, fills: 0, from: st.market.fromBlock };
  listCache = null;
  $("mk-chart").innerHTML = "";
  set("mk-range", "");
  await loadFeeBase().catch(() => undefined);
  await refresh();
  if (currentScreen() === "history") await history();
}

async function loadChart() {
  const logs = await st.pc.getContractEvents({ address: st.market.oracle, abi: abi.EquityOracle as Abi, eventName: "PricePushed", fromBlock: st.chartFrom });
  const dec = st.snap?.oracle.decimals ?? 8;
  for (const e of logs) {
    const a = e.args as { answer: bigint; observed_at: bigint };
    st.chart.push({ t: Number(a.observed_at), p: Number(a.answer) / 10 ** dec });
  }
  if (logs.length) st.chartFrom = logs[logs.length - 1].blockNumber + 1n;
  st.chart = st.chart.slice(-200);
}

/** What the account received and paid through each dividend the oracle applied since the
 * market's deployment: its synth, vault debt and perp size in the block before each
 * `DividendApplied`, x the dividend per base share at the multiplier before it (the same
 * formulas as `ape run vault status` / `perp status`, `synthequity.model.oracle`); read
 * incrementally up to the head (one read at a time: two overlapping refreshes would count
 * a dividend twice), again from the start when the account or market changes. */
let dividendsLoading: Promise<void> | null = null;
function loadDividends(): Promise<void> {
  dividendsLoading ??= readDividends().finally(() => {
    dividendsLoading = null;
  });
  return dividendsLoading;
}
async function readDividends() {
  const key = `${st.account ?? ""}:${st.market.oracle}`;
  if (st.divs.key !== key) st.divs = { key, from: st.market.fromBlock, n: 0, vault: [0n, 0n], perp: [0n, 0n] };
  if (!st.account) return;
  const head = await st.pc.getBlockNumber();
  if (head < st.divs.from) return;
  const logs = await st.pc.getContractEvents({ address: st.market.oracle, abi: abi.EquityOracle as Abi, eventName: "DividendApplied", fromBlock: st.divs.from, toBlock: head });
  const me = st.account;
  const at = <T,>(address: Address, a: unknown, functionName: string, args: unknown[], blockNumber: bigint) =>
    st.pc.readContract({ address, abi: a as never, functionName, args, blockNumber } as never) as Promise<T>;
  const dec = st.snap?.oracle.decimals ?? 8;
  for (const e of logs) {
    const { round_id, amount } = e.args as { round_id: bigint; amount: bigint };
    const before = e.blockNumber - 1n;
    const [mult, synth, vault, perp] = await Promise.all([
      at<bigint>(st.market.oracle, abi.EquityOracle, "round_multiplier_wad", [round_id - 1n], before),
      at<bigint>(st.market.synth, abi.SynthToken, "balanceOf", [me], before),
      at<readonly [bigint, bigint]>(st.market.vault, abi.SynthVault, "position", [me], before),
      at<{ size: bigint }>(st.market.perp, abi.PerpMarket, "position", [me], before),
    ]);
    if (key !== st.divs.key) return; // the account or market changed meanwhile
    const per = [m.dividendPerBaseShareWad(amount, dec, mult)];
    const v = m.dividendsReceivedWad([[synth, vault[1], 0n]], per);
    const p = m.dividendsReceivedWad([[0n, 0n, perp.size]], per);
    st.divs.vault = [st.divs.vault[0] + v[0], st.divs.vault[1] + v[1]];
    st.divs.perp = [st.divs.perp[0] + p[0], st.divs.perp[1] + p[1]];
    st.divs.n += 1;
    st.divs.from = e.blockNumber + 1n;
  }
  if (key === st.divs.key) st.divs.from = head + 1n; // the next read starts past this head
}

function dividendWords([received, paid]: [bigint, bigint], got: string, gave: string): string {
  if (st.divs.n === 0) return "none yet (no ex-date since the market launched)";
  return `${got} ${usd(received)}, ${gave} ${usd(paid)} over ${st.divs.n} ex-date(s)`;
}

/** The trading fees the pool earned: Σ `OrderFilled.fee` since the market's deployment,
 * read incrementally (the fees go to the pool with the fill). */
async function loadFees() {
  const logs = await st.pc.getContractEvents({ address: st.market.perp, abi: abi.PerpMarket as Abi, eventName: "OrderFilled", fromBlock: st.fees.from });
  for (const e of logs) st.fees.wad += (e.args as { fee: bigint }).fee;
  st.fees.fills += logs.length;
  if (logs.length) st.fees.from = logs[logs.length - 1].blockNumber + 1n;
}

/** Every market of the deployment: price, age and status in one batch. */
async function loadMarketsTable() {
  const s = st.snap;
  if (!s) return;
  const read = <T,>(address: Address, functionName: string) =>
    st.pc.readContract({ address, abi: abi.EquityOracle as never, functionName } as never) as Promise<T>;
  const row = (symbol: string, word: string, price: string, age: string) =>
    `<tr><td>${symbol}</td><td>${price}</td><td>${age}</td><td>${word}</td></tr>`;
  const rows = await Promise.all(st.markets.map(async (x) => {
    if (x === st.market) { // already read by this poll's snapshot
      const o = s.oracle;
      return row(x.symbol, o.suspect ? "HALTED (suspect price)" : STATUS[o.status],
        o.hasPrice ? usd(o.priceWad) : "no price yet", o.hasPrice ? `${duration(s.now - o.updatedAt)} ago` : "–");
    }
    const [round, status, suspect, mult, dec] = await Promise.all([
      read<readonly [bigint, bigint, bigint, bigint, bigint]>(x.oracle, "latestRoundData").catch(() => null),
      read<number>(x.oracle, "market_status"), read<boolean>(x.oracle, "suspect"),
      read<bigint>(x.oracle, "shares_multiplier_wad"), read<number>(x.oracle, "decimals"),
    ]);
    return row(x.symbol, suspect ? "HALTED (suspect price)" : STATUS[Number(status)],
      round ? usd(m.basePriceWad(round[1], Number(dec), mult)) : "no price yet",
      round ? `${duration(s.now - Number(round[3]))} ago` : "–");
  }));
  const html = rows.join("");
  if ($("mk-all").innerHTML !== html) $("mk-all").innerHTML = html;
}

async function dev(path: string) {
  if (path.includes("dividend")) msg("dev", "info", "staging the dividend, then over the night to its ex-date's open…");
  const r = await fetch(path, { method: "POST" });
  const body = await r.json();
  if (!r.ok) return msg("dev", "error", body.error);
  const div = body.dividend ? `dividend of $${body.dividend.per_share_usd} per share applied at the open of ${body.dividend.ex_utc}; ` : "";
  msg("dev", "ok", `${div}chain time ${body.chain_time_utc}: ${body.halted ? "HALTED" : body.calendar_status}; the oracle keeper reports it within seconds`);
  await devState();
}
async function devState() {
  if (!st.cfg.devApi) return;
  const s = await (await fetch("dev/state")).json();
  set("d-time", s.chain_time_utc);
  set("d-cal", s.halted ? `${s.calendar_status} (halted by the dev panel)` : s.calendar_status);
  set("d-mode", s.in_session ? "stays inside sessions (jumps over closes)" : "moved: stays where it was put");
}
function devActions() {
  const moves: [string, string][] = [["d-open", "clock?to=open"], ["d-close", "clock?to=close"], ["d-weekend", "clock?to=weekend"], ["d-halt", "clock?to=halt"], ["d-resume", "clock?to=resume"], ["d-up", "price?pct=5"], ["d-down", "price?pct=-5"], ["d-div", "dividend?pct=1"]];
  for (const [id, path] of moves) $(id).onclick = () => dev(`dev/${path}`);
}

// ---- wallet ---------------------------------------------------------------------------------
function renderWallets() {
  if (st.account) return;
  $("wallets").innerHTML = st.wallets.length
    ? st.wallets.map((w, i) => `<button id="connect-${i}" class="primary"><img src="${w.info.icon}" alt="" width="16" height="16"> Connect ${w.info.name}</button>`).join("")
    : `<span class="dim">no browser wallet found: read-only</span>`;
  st.wallets.forEach((w, i) => {
    $(`connect-${i}`).onclick = async () => {
      try {
        const { account, client } = await connect(w, st.cfg);
        st.account = account;
        st.wc = client;
        $("wallets").innerHTML = "";
        await loadFeeBase().catch(() => undefined);
        set("h-account", `${account.slice(0, 6)}…${account.slice(-4)} (${w.info.name})`);
        w.provider.on?.("accountsChanged", (a: unknown) => { st.account = (a as Address[])[0] ?? null; void refresh(); });
        await refresh();
      } catch (e) {
        set("h-account", `wallet: ${reason(e)}`);
      }
    };
  });
}

/** Reads overlap (the 1.5 s tick and a wallet's connect or an action's re-read): a read
 * renders only if no later one has, and only for the account and market it was made for. */
let readsStarted = 0;
let readRendered = 0;
async function refresh() {
  const seq = ++readsStarted;
  const { account, market } = st;
  try {
    const snap = await snapshot(st.pc, market, account);
    if (seq < readRendered || account !== st.account || market !== st.market) return;
    readRendered = seq;
    st.snap = snap;
    await loadJoinsAt().catch(() => undefined);
    await loadDividends().catch(() => undefined);
    $("top-msg").hidden = true; // a read that failed once (a node restarting) is over
    render();
  } catch (e) {
    const el = $("top-msg");
    el.hidden = false;
    el.textContent = `cannot read the chain at ${st.cfg.rpcUrl}: ${reason(e)}`;
  }
}

async function main() {
  const cfg = (await (await fetch("config.json")).json()) as Config;
  st.cfg = cfg;
  st.pc = reader(cfg);
  st.markets = markets(cfg);
  st.market = st.markets[0];
  st.feeBase = null;
  st.funding = new Map();
  st.wallets = []; // read-only until a wallet announces itself
  st.chart = [];
  st.chartFrom = st.market.fromBlock;
  st.joinsAt = null;
  st.fees = { wad: 0n, fills: 0, from: st.market.fromBlock };
  st.divs = { key: "", from: st.market.fromBlock, n: 0, vault: [0n, 0n], perp: [0n, 0n] };
  st.account = null;
  st.wc = null;
  st.busy = false;
  layout();
  if (!cfg.devApi) $("tab-dev").hidden = true;
  if (!cfg.devApi && !cfg.faucet) $("faucet").hidden = true;
  $("faucet").onclick = () => act(currentScreen(), "get test USD", () => {
    const units = 10_000n * 10n ** BigInt(st.snap!.wallet.decimals);
    return [call(st.market.collateral, abi.MockStablecoin, "faucet", [st.account, units], "mint 10,000 test USD to you")];
  });
  vaultActions();
  perpActions();
  conditionalActions();
  poolActions();
  synthActions();
  devActions();
  for (const id of ["v-coll-in", "v-synth-in", "p-size-in", "p-usd-in", "p-lev-in", "v-buy", "r-amount"]) $(id).oninput = () => st.snap && render();
  show((SCREENS as readonly string[]).includes(location.hash.slice(1)) ? (location.hash.slice(1) as Screen) : "markets");
  discoverWallets((ws) => { st.wallets = ws; renderWallets(); });
  renderWallets();
  await refresh();
  const tick = async () => {
    if (!st.busy) await refresh();
    await loadChart().catch(() => undefined);
    await loadFees().catch(() => undefined);
    await loadMarketsTable().catch(() => undefined);
    await devState().catch(() => undefined);
    setTimeout(tick, 1500);
  };
  void tick();
  document.body.dataset.ready = "1";
}

const currentScreen = () => (SCREENS.find((s) => !$(`s-${s}`).hidden) ?? "markets") as Screen;

void main();
