// End to end in real headless Chromium (Debian's /usr/bin/chromium through playwright-core)
// against anvil with the protocol deployed and the keepers running (`python -m
// synthequity.dev.dapp`, started by tests/dapp/test_dapp_e2e.py or by hand):
//   APP_URL=http://127.0.0.1:8611/ RPC_URL=http://127.0.0.1:8610 node --test e2e/
// Screenshots of each screen go to $REPORT_DIR (default ../reports/dapp).
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { after, before, test } from "node:test";
import { chromium } from "playwright-core";
import { installWallet } from "./wallet.mjs";

const APP = process.env.APP_URL ?? "http://127.0.0.1:8611/";
const RPC = process.env.RPC_URL ?? "http://127.0.0.1:8610";
const SHOTS = process.env.REPORT_DIR ?? "../reports/dapp";
const STEP_MS = 60_000;
mkdirSync(SHOTS, { recursive: true });

let browser;
let config;
before(async () => {
  config = await (await fetch(new URL("config.json", APP))).json();
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
      "--disable-component-update", "--no-first-run"],
  });
});
after(async () => browser?.close());

async function open(index, screen = "markets", otherChain = false) {
  const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
  page.on("pageerror", (e) => console.error("page error:", e.message));
  const wallet = await installWallet(page, { rpcUrl: RPC, chainId: config.chainId, index, otherChain });
  await page.goto(`${APP}#${screen}`);
  // read-only until connected: no balance of a placeholder address is shown as the user's
  await waitText(page, "v-wallet", (t) => t === "connect a wallet", "the wallet line before connecting");
  await page.click("text=Connect Test Wallet");
  await page.waitForFunction(() => document.getElementById("h-account").textContent.includes("Test Wallet"));
  return { page, wallet };
}
const text = (page, id) => page.locator(`#${id}`).textContent();
async function waitText(page, id, pred, what, timeout = STEP_MS) {
  const t0 = Date.now();
  for (;;) {
    const t = await text(page, id);
    if (pred(t)) return t;
    if (Date.now() - t0 > timeout) throw new Error(`${what}: #${id} is still ${JSON.stringify(t)}`);
    await page.waitForTimeout(250);
  }
}
const done = (page, screen, label) =>
  waitText(page, `${screen}-msg`, (t) => t.includes(`${label}: done`) || t.startsWith("Reverted") || t.startsWith("Refused"), label)
    .then((t) => assert.ok(t.includes(`${label}: done`), `${label}: ${t}`));
async function fill(page, values) {
  for (const [id, v] of Object.entries(values)) await page.fill(`#${id}`, v);
}
async function tab(page, name) {
  await page.click(`#tab-${name}`);
}
const shot = (page, name) => page.screenshot({ path: `${SHOTS}/${name}.png`, fullPage: true });
const dev = (path) => fetch(new URL(`dev/${path}`, APP), { method: "POST" }).then((r) => r.json());
const usd = (t) => Number(t.replace(/[^0-9.-]/g, ""));

/** The market OPEN with a price the keeper pushed after the Dev panel's last clock move (the
 * badge says OPEN from the round before the move, whose price is then a day old). */
const freshOpen = async (page) => {
  await waitText(page, "h-status", (t) => t === "OPEN", "market open");
  await waitText(page, "mk-age", (t) => /^\d+ s ago/.test(t) && parseInt(t, 10) < 60, "a fresh price");
};

const refusedNow = (page, screen) =>
  waitText(page, `${screen}-msg`, (x) => x.startsWith("Refused"), `${screen} refusal`);

/** Tab through the page from the top; the ids focused, each with its outline visible. */
async function tabThrough(page, presses, onFocus = async () => undefined) {
  const seen = [];
  await page.evaluate(() => document.activeElement?.blur());
  for (let i = 0; i < presses; i++) {
    await page.keyboard.press("Tab");
    const f = await page.evaluate(() => {
      const el = document.activeElement;
      const cs = el ? getComputedStyle(el) : null;
      return { id: el?.id ?? "", outline: cs ? `${cs.outlineStyle} ${cs.outlineWidth}` : "" };
    });
    if (!f.id) continue;
    assert.ok(!f.outline.startsWith("none") && !f.outline.endsWith(" 0px"), `#${f.id} focused without a visible outline (${f.outline})`);
    seen.push(f.id);
    await onFocus(f.id);
  }
  return seen;
}

test("market OPEN: vault, 3x long filled by the keeper, PnL after a price push, close both", async () => {
  await dev("clock?to=open");
  // a wallet on another chain that does not know this one: the page switches, gets 4902, adds it
  const { page, wallet } = await open(3, "markets", true);
  assert.deepEqual(wallet.state.chainRequests, ["wallet_switchEthereumChain", "wallet_addEthereumChain"]);
  assert.equal(wallet.state.current, config.chainId);
  await waitText(page, "h-status", (t) => t === "OPEN", "market open");
  await waitText(page, "mk-price", (t) => usd(t) > 0, "oracle price");
  await waitText(page, "mk-all", (t) => /^TSLA\$[\d,.]+.+ agoOPEN$/.test(t), "every market's row");
  // the faucet: 10,000 test USD (the mock stablecoin of this local deployment)
  const cashOf = (t) => usd(t.split(" ")[0]);
  const cash0 = cashOf(await waitText(page, "v-wallet", (t) => /^[\d,.]+ \w+,/.test(t), "the wallet read"));
  await page.click("#faucet");
  await done(page, "markets", "get test USD");
  await waitText(page, "v-wallet", (t) => Math.abs(cashOf(t) - cash0 - 10_000) < 0.01, "faucet paid");
  await page.waitForTimeout(1_600); // a chart point or two
  await shot(page, "markets");

  // a refusal before any signature: minting far above the MCR
  await tab(page, "vault");
  await fill(page, { "v-coll-in": "3000", "v-synth-in": "100" });
  await page.click("#v-open");
  const refused = await waitText(page, "vault-msg", (t) => t.startsWith("Refused"), "mint refusal");
  assert.match(refused, /below the minimum collateral ratio: at most [\d.,]+ sTSLA can be minted/);
  assert.equal(wallet.state.signatures.length, 1, "the faucet's only: none asked for a refused action");
  await shot(page, "vault-refused");

  const debt0 = usd(await text(page, "v-debt"));
  await fill(page, { "v-synth-in": "4" });
  await page.click("#v-open");
  await done(page, "vault", "open");
  // the preview of both directions before any click: open/deposit/mint, and burn/withdraw
  await fill(page, { "v-coll-in": "100", "v-synth-in": "1" });
  const preview = await waitText(page, "v-preview", (t) => t.includes("After burn/withdraw"), "both previews");
  assert.match(preview, /^After open\/deposit\/mint: collateral 3,100\.00, debt 5\.0+, CR [\d.]+%, liquidation price \$[\d,.]+ \| After burn\/withdraw: collateral 2,900\.00, debt 3\.0+, CR [\d.]+%/);
  await fill(page, { "v-coll-in": "", "v-synth-in": "" });
  assert.equal(wallet.state.signatures.length, 3, "faucet, then approve + open");
  await waitText(page, "v-debt", (t) => usd(t) >= debt0 + 4, "debt shown");
  assert.match(await text(page, "v-cr"), /^\d+\.\d\d% \(minimum 150%/);
  await shot(page, "vault");

  await tab(page, "perp");
  await fill(page, { "p-margin-in": "1000" });
  await page.click("#p-deposit");
  await done(page, "perp", "deposit margin");
  // refused before signing: 8x (the IMR allows 5x) and a withdrawal above the $1,000 deposited
  const signedBefore = wallet.state.signatures.length;
  await fill(page, { "p-lev-in": "8" });
  await page.click("#p-long");
  assert.match(await refusedNow(page, "perp"), /^Refused \(nothing sent\): not enough margin: long order needs \$[\d,.]+ of equity \(5x at most/);
  await fill(page, { "p-margin-in": "5000" });
  await page.click("#p-withdraw");
  assert.match(await refusedNow(page, "perp"), /^Refused \(nothing sent\): margin: at most 1,000\.00 can be withdrawn now/);
  assert.equal(wallet.state.signatures.length, signedBefore, "refused: nothing signed");
  await fill(page, { "p-lev-in": "3", "p-margin-in": "" });
  await page.click("#p-long");
  await done(page, "perp", "long");
  await waitText(page, "p-size", (t) => t.includes("(long)"), "keeper fill");
  const lev = usd(await text(page, "p-lev"));
  assert.ok(lev > 2.8 && lev < 3.1, `leverage ${lev}`);
  const pnl0 = usd(await text(page, "p-pnl"));
  await dev("price?pct=5");
  await waitText(page, "p-pnl", (t) => usd(t) > pnl0 + 50, "PnL after a +5% price");
  assert.match(await text(page, "p-liq"), /^about \$[\d,]+\.\d\d$/);
  await shot(page, "perp");
  // a notional in USD instead of a size: ~$1,000 worth of shares at the oracle price
  await fill(page, { "p-usd-in": "1000" });
  const byUsd = await waitText(page, "p-estimate", (t) => t.startsWith("Long"), "estimate by notional");
  const sized = Number(byUsd.match(/^Long ([\d.]+):/)[1]);
  const px = usd(await text(page, "mk-price"));
  // (the keeper's GBM moves the price between the two reads: within 0.5%)
  assert.ok(Math.abs(sized * px - 1000) < 5, `${sized} shares x $${px} ~ $1,000`);
  await fill(page, { "p-usd-in": "" });
  // the estimate prices each side: the short below the long (it used to say "long" only)
  await fill(page, { "p-lev-in": "", "p-size-in": "10" });
  const est = await waitText(page, "p-estimate", (t) => t.includes("Short"), "short estimate");
  const [longFill, shortFill] = [...est.matchAll(/fill ≈ \$([\d,.]+)/g)].map((r) => usd(r[1]));
  assert.match(est, /^Long 10\.000000: .* \| Short 10\.000000: /);
  assert.ok(shortFill < longFill, `short fill ${shortFill} < long fill ${longFill}`);
  await fill(page, { "p-size-in": "" });

  // conditional orders (issue 20): a stop-loss far below waits, with the gap warning, and is
  // cancelled from the list; a take-profit on the wrong side is refused in words; a limit buy
  // above the price triggers on the next round and the keeper executes it
  const px0 = usd(await text(page, "mk-price"));
  assert.match(await text(page, "p-cond-note"), /a gap can fill a stop-loss well below its trigger, at the open's price/);
  await page.selectOption("#p-cond-kind", "3");
  await fill(page, { "p-cond-trigger": (px0 * 0.5).toFixed(2), "p-cond-size": "", "p-cond-slip": "" });
  await page.click("#p-cond-place");
  assert.match(await refusedNow(page, "perp"), /^Refused \(nothing sent\): a take-profit for this long goes above the price/);
  await page.selectOption("#p-cond-kind", "4");
  await page.click("#p-cond-place");
  await done(page, "perp", "place order");
  const slRow = await waitText(page, "p-cond-list", (t) => t.includes("stop-loss"), "the stop-loss listed");
  assert.match(slRow, /#0 stop-loss sell the whole position at \$[\d,.]+ \(any price, fee \$1\.00\), expires .+: waiting/);
  const moved = (px0 * 0.45).toFixed(2); // under $1,000: no thousands separator
  await fill(page, { "p-cond-trigger": moved });
  await page.click("#p-cond-0 button[data-move='0']");
  await done(page, "perp", "move order");
  await waitText(page, "p-cond-list", (t) => t.includes(`at $${moved} (any price`), "the stop-loss moved");
  await page.click("#p-cond-0 button[data-cancel='0']");
  await done(page, "perp", "cancel order");
  await waitText(page, "p-cond-list", (t) => t === "none", "the stop-loss cancelled");
  const size0 = Number((await text(page, "p-size")).split(" ")[0]);
  await page.selectOption("#p-cond-kind", "1");
  await page.selectOption("#p-cond-side", "buy");
  await fill(page, { "p-cond-trigger": (px0 * 1.2).toFixed(2), "p-cond-size": "0.1", "p-cond-slip": "2500" });
  await page.click("#p-cond-place");
  await done(page, "perp", "place order");
  await waitText(page, "p-size", (t) => Math.abs(Number(t.split(" ")[0]) - size0 - 0.1) < 1e-6, "the keeper executed the limit buy");
  await waitText(page, "p-cond-list", (t) => t === "none", "the executed order gone");
  await shot(page, "perp-orders");

  await page.click("#p-close");
  await done(page, "perp", "close");
  await waitText(page, "p-size", (t) => t === "no position", "keeper fill of the close");

  // the full repay: the debt grew by the stability fee beyond the 4 sTSLA minted. Refused
  // first with its price in words; then bought from the insurance fund through the page.
  await tab(page, "vault");
  await waitText(page, "v-fee-accrued", (t) => /since block \d+; ≈ [\d.]+ sTSLA/.test(t), "fee accrued as an amount");
  assert.match(await text(page, "v-repay"), /^Close needs ≈ 4\.0000\d+ sTSLA .*you hold 4\.00000000: short 0\.0000\d+, from the insurance fund for ≈/);
  const before = wallet.state.signatures.length;
  await page.click("#v-close");
  assert.match(await refusedNow(page, "vault"), /insufficient sTSLA: you have 4\.00000000, closing needs 4\.0000\d+ .*tick "Buy the missing synth"/);
  assert.equal(wallet.state.signatures.length, before, "refused: nothing signed");
  await page.check("#v-buy");
  await page.click("#v-close");
  await done(page, "vault", "close");
  assert.equal(wallet.state.signatures.length, before + 3, "approve + buy_fee_synth + close");
  await waitText(page, "v-debt", (t) => t.startsWith("0.000000"), "vault closed");
  await waitText(page, "v-coll", (t) => t.startsWith("0.00"), "collateral back");

  await tab(page, "pool");
  await waitText(page, "l-nav", (t) => usd(t) > 0, "pool NAV");
  // one share is worth about one USD (the first LP's deposit at 1:1; fees and PnL since)
  const perShare = usd((await waitText(page, "l-share", (t) => t.includes("per share"), "share value")).split(" ")[0]);
  assert.ok(perShare > 0.9 && perShare < 1.1, `share value ${perShare}`);
  // provide liquidity: ~1,000 shares; then a withdrawal is refused in words (the 1-day lock)
  await fill(page, { "l-amount": "1000" });
  await page.click("#l-deposit");
  await done(page, "pool", "pool deposit");
  const mine = usd(await waitText(page, "l-mine", (t) => usd(t) > 0, "LP shares"));
  assert.ok(Math.abs(mine * perShare - 1000) < 10, `${mine} shares x ${perShare}`);
  assert.match(await text(page, "l-lock"), /^locked until .+ \(in 1 d\)|^locked until .+ \(in 23 h/);
  await page.click("#l-withdraw");
  assert.match(await refusedNow(page, "pool"), /^Refused \(nothing sent\): pool: locked until .+ a deposit locks your whole pool balance for 1 d$/);
  const fees = await waitText(page, "l-fees", (t) => /from \d+ fills/.test(t) && usd(t.split(" ")[0]) > 0, "fees earned");
  assert.ok(Number(fees.match(/from (\d+) fills/)[1]) >= 2, fees); // this test's long and close at least
  await shot(page, "pool");
  await tab(page, "history");
  await waitText(page, "h-rows", (t) => t.includes("OrderFilled"), "fills in the history");
  const rows = await page.locator("#h-rows tr").allTextContents();
  const fills = rows.filter((r) => r.includes("OrderFilled"));
  assert.ok(fills.length >= 2 && fills.every((r) => /(paid|received) \$[\d,.]+|\$0\.0000/.test(r)), `funding per fill: ${fills}`);
  assert.match(await text(page, "h-open-funding"), /No open perp position/);
  assert.ok(rows.some((r) => r.includes("FeeSynthSold")), "the fee synth bought for the close");
  await shot(page, "history");
  await tab(page, "dev");
  await shot(page, "dev");
  await page.setViewportSize({ width: 390, height: 844 }); // a phone
  for (const screen of ["markets", "vault", "perp", "pool", "synth", "history"]) {
    await tab(page, screen);
    const wide = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(wide <= 390, `${screen} is ${wide} px wide on a 390 px phone (no sideways scroll)`);
  }
  await tab(page, "perp");
  await shot(page, "perp-phone");
  await page.close();
});

test("keyboard: every main action reachable by Tab with a visible focus; labels; market selector", async () => {
  const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
  page.on("pageerror", (e) => console.error("page error:", e.message));
  // the record with a second market (the same contracts under another name): the selector
  await page.route("**/config.json", async (route) => {
    const cfg = await (await route.fetch()).json();
    const [sym, m] = Object.entries(cfg.deployment.markets)[0];
    cfg.deployment.markets[`${sym}2`] = m;
    await route.fulfill({ json: cfg });
  });
  await page.goto(`${APP}#markets`);
  await page.waitForFunction(() => document.body.dataset.ready === "1");
  await waitText(page, "h-market", (t) => t.startsWith("TSLA $"), "first market");
  const unlabeled = await page.evaluate(() => [...document.querySelectorAll("input, select")]
    .filter((el) => !el.labels?.length && !el.getAttribute("aria-label")).map((el) => el.id));
  assert.deepEqual(unlabeled, [], "every input has a label");
  // read-only (no wallet): said in the header, and an action is refused in words
  assert.equal(await text(page, "h-account"), "read-only (no wallet)");
  await page.click("#tab-vault");
  await fill(page, { "v-coll-in": "3000", "v-synth-in": "1" });
  await page.click("#v-open");
  assert.equal(await refusedNow(page, "vault"), "Refused (nothing sent): connect a wallet first (read-only mode)");
  await fill(page, { "v-coll-in": "", "v-synth-in": "" });
  await page.click("#tab-markets");
  await waitText(page, "mk-all", (t) => t.includes("TSLA2"), "both markets in the table");
  assert.equal(await page.locator("#mk-all tr").count(), 2);
  await page.selectOption("#market", { label: "TSLA2" });
  await waitText(page, "h-market", (t) => t.startsWith("TSLA2 $"), "second market selected");
  await waitText(page, "mk-title", (t) => t.startsWith("TSLA2"), "markets screen follows");
  await page.selectOption("#market", { label: "TSLA" });
  // Tab from the top: the tabs, then Enter on a tab shows its screen, whose actions follow
  const reached = new Set();
  const screens = ["vault", "perp", "pool", "synth"];
  const seen = await tabThrough(page, 12);
  for (const s of ["market", "tab-markets", "tab-vault", "tab-perp", "tab-pool", "tab-synth", "tab-history", "tab-dev"])
    assert.ok(seen.includes(s), `#${s} reachable by Tab (${seen})`);
  for (const s of screens) {
    await page.focus(`#tab-${s}`);
    await page.keyboard.press("Enter");
    await page.waitForFunction((x) => !document.getElementById(`s-${x}`).hidden, s);
    for (const id of await tabThrough(page, 40)) reached.add(id);
  }
  const main = ["v-coll-in", "v-synth-in", "v-buy", "v-open", "v-deposit", "v-mint", "v-burn", "v-withdraw", "v-close", "v-buy-fee",
    "p-close", "p-cancel", "p-execute", "p-margin-in", "p-deposit", "p-withdraw", "p-size-in", "p-usd-in", "p-lev-in", "p-slip-in", "p-long", "p-short",
    "p-cond-kind", "p-cond-side", "p-cond-size", "p-cond-trigger", "p-cond-slip", "p-cond-days", "p-cond-place",
    "l-amount", "l-deposit", "l-withdraw",
    "sp-amount", "sp-deposit", "sp-withdraw", "sp-withdraw-all", "sp-claim", "r-amount", "r-max-fee", "r-redeem"];
  assert.deepEqual(main.filter((id) => !reached.has(id)), [], "main actions reachable by keyboard");
  await page.close();
});

test("synth: a stability-pool deposit waits to join and comes back; a redemption takes the riskiest position", async () => {
  await dev("clock?to=open");
  const { page, wallet } = await open(4, "vault");
  await freshOpen(page);
  await fill(page, { "v-coll-in": "3000", "v-synth-in": "3" });
  await page.click("#v-open");
  await done(page, "vault", "open");

  await tab(page, "synth");
  await waitText(page, "sp-wallet", (t) => usd(t) >= 3, "synth in the wallet");
  assert.match(await text(page, "r-fee"), /^0\.5\d\d% \(the 0\.5% floor \+ the base rate/);
  const signed = wallet.state.signatures.length;
  await fill(page, { "sp-amount": "5" });
  await page.click("#sp-deposit");
  assert.match(await refusedNow(page, "synth"), /insufficient sTSLA: you have 3\.0+, this needs 5\.0+/);
  await page.click("#sp-claim");
  assert.match(await refusedNow(page, "synth"), /no gains to claim/);
  assert.equal(wallet.state.signatures.length, signed, "refused: nothing signed");
  await fill(page, { "sp-amount": "1" });
  await page.click("#sp-deposit");
  await done(page, "synth", "pool deposit");
  assert.equal(wallet.state.signatures.length, signed + 2, "approve + deposit");
  const waiting = await waitText(page, "sp-waiting", (t) => t.includes("joins"), "the deposit waits");
  assert.match(waiting, /^1\.000000 sTSLA, joins .+ \(in \d/);
  assert.match(await text(page, "sp-active"), /^0\.000000 sTSLA/);
  await shot(page, "synth-pool");
  await page.click("#sp-withdraw-all");
  await done(page, "synth", "pool withdraw");
  await waitText(page, "sp-waiting", (t) => t === "none", "withdrawn before it joined");
  await waitText(page, "sp-wallet", (t) => usd(t) >= 3, "synth back in the wallet");

  // redeem 1 sTSLA: the background borrower (200%) is riskier than this account's vault
  const cashOf = (t) => usd(t.split(" ")[0]); // "97,260.12 mUSD, 2.000000 sTSLA"
  const cash0 = cashOf(await text(page, "v-wallet"));
  const synth0 = usd(await text(page, "r-wallet"));
  await fill(page, { "r-amount": "1", "r-max-fee": "0.1" });
  const preview = await waitText(page, "r-preview", (t) => t.startsWith("Redeems"), "redeem preview");
  assert.match(preview, /^Redeems 1\.000000 sTSLA from 1 position\(s\), riskiest first: ≈ [\d,.]+ \w+ after a fee of (\d\.\d{3})%/);
  const fee = Number(preview.match(/after a fee of (\d\.\d{3})%/)[1]);
  assert.ok(fee > 0.5 && fee < 3, `fee ${fee}% (0.5% + the volume's share)`);
  await page.click("#r-redeem");
  assert.match(await refusedNow(page, "synth"), /the fee is \d\.\d{3}% now, above your highest fee 0\.10%/);
  await fill(page, { "r-max-fee": "" });
  await page.click("#r-redeem");
  await done(page, "synth", "redeem");
  await waitText(page, "r-wallet", (t) => Math.abs(usd(t) - (synth0 - 1)) < 1e-6, "1 sTSLA burned");
  await tab(page, "vault");
  const cash1 = await waitText(page, "v-wallet", (t) => cashOf(t) > cash0, "collateral paid");
  const price = usd(await text(page, "h-market"));
  const got = cashOf(cash1) - cash0;
  // the price keeps moving (the keeper's GBM): within 2% of the quote's fee either way
  assert.ok(got > price * (0.98 - fee / 100) && got < price * 1.02, `paid ${got} for 1 sTSLA at ${price}, fee ${fee}%`);
  await tab(page, "history");
  await waitText(page, "h-rows", (t) => t.includes("Redemption"), "the redemption in the history");
  const rows = await page.locator("#h-rows tr").allTextContents();
  assert.ok(rows.some((r) => r.includes("Deposit")) && rows.some((r) => r.includes("Withdraw")), "pool moves in the history");
  await tab(page, "synth");
  await shot(page, "synth-redeemed");
  await page.close();
});

test("market CLOSED, then HALTED: risk-increasing actions refused in words, deposit, burn, close still work", async () => {
  // over a night to the next open: the background borrower's fee stocks the insurance fund
  await dev("clock?to=close");
  await dev("clock?to=open");
  const { page, wallet } = await open(3, "vault");
  await freshOpen(page);
  await fill(page, { "v-coll-in": "2000", "v-synth-in": "2" });
  await page.click("#v-open");
  await done(page, "vault", "open");
  // a full repay after the close needs the fee accrued overnight: buy it while the market is open
  await waitText(page, "v-fund", (t) => usd(t.split(" ")[0]) >= 0.0002, "fee synth in the fund");
  await fill(page, { "v-synth-in": "0.0002" });
  await page.click("#v-buy-fee");
  await done(page, "vault", "buy fee synth");

  await dev("clock?to=close");
  await waitText(page, "h-status", (t) => t === "CLOSED", "market closed");
  const signed = wallet.state.signatures.length;
  const refusedWith = async (screen, button, values, pattern) => {
    await tab(page, screen);
    await fill(page, values);
    await page.click(`#${button}`);
    const t = await waitText(page, `${screen}-msg`, (x) => x.startsWith("Refused"), `${button} refused`);
    assert.match(t, pattern);
  };
  const closed = /^Refused \(nothing sent\): market closed; next NYSE open .+ New York/;
  await refusedWith("vault", "v-mint", { "v-synth-in": "0.5" }, closed);
  await refusedWith("vault", "v-withdraw", { "v-coll-in": "10" }, closed);
  await shot(page, "vault-closed");
  await refusedWith("perp", "p-long", { "p-size-in": "1" }, closed);
  await refusedWith("pool", "l-deposit", { "l-amount": "100" }, closed);
  await refusedWith("synth", "r-redeem", { "r-amount": "0.5" }, closed);
  await refusedWith("vault", "v-buy-fee", { "v-synth-in": "0.0001" }, /^Refused \(nothing sent\): buying the insurance fund's synth needs a usable price: market closed/);
  assert.equal(wallet.state.signatures.length, signed, "no signature asked while refusing");

  await tab(page, "vault");
  await fill(page, { "v-coll-in": "100", "v-synth-in": "1" });
  await page.click("#v-deposit");
  await done(page, "vault", "deposit");
  await page.click("#v-burn");
  await done(page, "vault", "burn");
  await page.click("#v-close");
  await done(page, "vault", "close");
  await waitText(page, "v-coll", (t) => t.startsWith("0.00"), "vault closed while CLOSED");
  await tab(page, "perp");
  await fill(page, { "p-margin-in": "50" });
  await page.click("#p-deposit");
  await done(page, "perp", "deposit margin");
  await tab(page, "markets");
  await shot(page, "markets-closed");

  // HALTED from the dev panel's own button: trading refused in words, margin still moves
  await tab(page, "dev");
  await page.click("#d-open");
  await waitText(page, "h-status", (t) => t === "OPEN", "open again");
  await page.click("#d-halt");
  await waitText(page, "h-status", (t) => t.startsWith("HALTED"), "halted by the dev panel");
  const halted = /^Refused \(nothing sent\): market HALTED: trading is suspended/;
  const signed2 = wallet.state.signatures.length;
  await refusedWith("vault", "v-open", { "v-coll-in": "2000", "v-synth-in": "2" }, halted);
  await refusedWith("vault", "v-buy-fee", { "v-synth-in": "0.0001" }, /needs a usable price: market HALTED/);
  await refusedWith("perp", "p-long", { "p-size-in": "1" }, halted);
  await refusedWith("perp", "p-withdraw", { "p-margin-in": "10" }, halted);
  await refusedWith("pool", "l-deposit", { "l-amount": "100" }, halted);
  assert.equal(wallet.state.signatures.length, signed2, "no signature asked while halted");
  await tab(page, "perp");
  await fill(page, { "p-margin-in": "25" });
  await page.click("#p-deposit");
  await done(page, "perp", "deposit margin");
  await tab(page, "markets");
  assert.match(await text(page, "mk-status"), /^HALTED|^HALTED:/);
  await shot(page, "markets-halted");
  await tab(page, "dev");
  await page.click("#d-resume");
  await waitText(page, "h-status", (t) => t === "OPEN", "resumed");
  // a weekend: CLOSED, and the next open is a Monday's (in New York and the user's time)
  await page.click("#d-weekend");
  await waitText(page, "h-status", (t) => t === "CLOSED", "the weekend");
  await tab(page, "markets");
  assert.match(await waitText(page, "mk-next", (t) => t.startsWith("opens"), "next open"), /^opens Mon, .+ 09:30 New York \(.+ your time\)$/);
  await tab(page, "dev");
  await page.click("#d-open");
  await waitText(page, "h-status", (t) => t === "OPEN", "open after the weekend");
  await page.close();
});

test("dividend from the Dev panel: over one night a holder and a long receive, the borrower pays", async () => {
  await dev("clock?to=open");
  const { page } = await open(7, "vault");
  await freshOpen(page);
  assert.equal(await text(page, "v-div"), "none yet (no ex-date since the market launched)");
  await fill(page, { "v-coll-in": "3000", "v-synth-in": "4" });
  await page.click("#v-open");
  await done(page, "vault", "open");
  await tab(page, "perp");
  await fill(page, { "p-margin-in": "1000" });
  await page.click("#p-deposit");
  await done(page, "perp", "deposit margin");
  await fill(page, { "p-margin-in": "", "p-size-in": "2" });
  await page.click("#p-long");
  await done(page, "perp", "long");
  await waitText(page, "p-size", (t) => t.startsWith("2.000000") && t.includes("(long)"), "keeper fill");
  await fill(page, { "p-size-in": "" });
  const px = usd(await text(page, "mk-price"));

  await tab(page, "dev");
  await page.click("#d-div");
  const said = await waitText(page, "dev-msg", (t) => t.includes("per share applied") || t.startsWith("Reverted"), "the dividend applied", 2 * STEP_MS);
  const per = Number(said.match(/^dividend of \$([\d.]+) per share applied at the open of .+ UTC; /)?.[1]);
  assert.ok(Math.abs(per - px / 100) < px / 1000, `1% of ~$${px}: $${per} (${said})`);
  await waitText(page, "h-status", (t) => t === "OPEN", "open on the ex-date");

  // the vault's 4 sTSLA received 4 dividends; its debt (4 and the fee accrued) paid as many
  await tab(page, "vault");
  const v = await waitText(page, "v-div", (t) => t.endsWith("over 1 ex-date(s)"), "the vault's dividends");
  const [got, paid] = [...v.matchAll(/\$([\d,.]+)/g)].map((r) => usd(r[1]));
  assert.match(v, /^your sTSLA received \$[\d,.]+, your debt paid \$[\d,.]+ over 1 ex-date\(s\)$/);
  assert.ok(Math.abs(got - 4 * per) <= 0.01, `received ${got} = 4 x ${per}`);
  assert.ok(paid >= got && paid - got <= 0.01, `paid ${paid} ~ received ${got}`);
  await shot(page, "vault-dividend");
  await tab(page, "perp");
  const p = await waitText(page, "p-div", (t) => t.endsWith("over 1 ex-date(s)"), "the long's dividends");
  const [long, short] = [...p.matchAll(/\$([\d,.]+)/g)].map((r) => usd(r[1]));
  assert.ok(Math.abs(long - 2 * per) <= 0.01 && short === 0, `a 2-share long: ${p}`);
  await page.close();
});
