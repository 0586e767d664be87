// End to end in real headless Chromium (Debian's /usr/bin/chromium through playwright-core)
// against anvil with the protocol deployed and the keepers running (`python -m
// synthequity.dev.dapp`, started by tests/dapp/test_dapp_e2e.py or by hand):
//   APP_URL=http://127.0.0.1:8611/ RPC_URL=http://127.0.0.1:8610 node --test e2e/
// Screenshots of each screen go to $REPORT_DIR (default ../reports/dapp).
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { after, before, test } from "node:test";
import { chromium } from "playwright-core";
import { createWalletClient, createPublicClient, http, parseAbi } from "viem";
import { installWallet, testAccount } from "./wallet.mjs";

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

async function open(index, screen = "markets") {
  const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
  page.on("pageerror", (e) => console.error("page error:", e.message));
  const wallet = await installWallet(page, { rpcUrl: RPC, chainId: config.chainId, index });
  await page.goto(`${APP}#${screen}`);
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

/** The synth a borrower would buy elsewhere to repay the stability fee on top of what it minted:
 * another borrower (TEST::4) mints some and sends it over, outside the page. */
async function giveSynth(to, amount) {
  const m = Object.values(config.deployment.markets)[0];
  const acct = testAccount(4);
  const w = createWalletClient({ account: acct, transport: http(RPC) });
  const pc = createPublicClient({ transport: http(RPC) });
  const usdAddr = config.deployment.core.collateral.address;
  const send = async (address, abi, functionName, args) => {
    const hash = await w.writeContract({ chain: null, address, abi: parseAbi(abi), functionName, args });
    const r = await pc.waitForTransactionReceipt({ hash });
    assert.equal(r.status, "success", functionName);
  };
  await send(usdAddr, ["function approve(address,uint256) returns (bool)"], "approve", [m.vault.address, 10n ** 12n]);
  await send(m.vault.address, ["function open(uint256,uint256)"], "open", [2_000n * 10n ** 6n, 10n ** 18n]); // above the $100 minimum debt
  await send(m.synth.address, ["function transfer(address,uint256) returns (bool)"], "transfer", [to, amount]);
}

test("market OPEN: vault, 3x long filled by the keeper, PnL after a price push, close both", async () => {
  await dev("clock?to=open");
  const { page, wallet } = await open(3);
  await waitText(page, "h-status", (t) => t === "OPEN", "market open");
  await waitText(page, "mk-price", (t) => usd(t) > 0, "oracle price");
  await page.waitForTimeout(1_600); // a chart point or two
  await shot(page, "markets");

  // a refusal before any signature: minting far above the MCR
  await tab(page, "vault");
  await fill(page, { "v-coll-in": "3000", "v-synth-in": "100" });
  await page.click("#v-open");
  const refused = await waitText(page, "vault-msg", (t) => t.startsWith("Refused"), "mint refusal");
  assert.match(refused, /below the minimum collateral ratio: at most [\d.,]+ sTSLA can be minted/);
  assert.equal(wallet.state.signatures.length, 0, "no signature asked for a refused action");
  await shot(page, "vault-refused");

  const debt0 = usd(await text(page, "v-debt"));
  await fill(page, { "v-synth-in": "4" });
  await page.click("#v-open");
  await done(page, "vault", "open");
  assert.equal(wallet.state.signatures.length, 2, "approve + open");
  await waitText(page, "v-debt", (t) => usd(t) >= debt0 + 4, "debt shown");
  assert.match(await text(page, "v-cr"), /^\d+\.\d\d% \(minimum 150%/);
  await shot(page, "vault");

  await tab(page, "perp");
  await fill(page, { "p-margin-in": "1000" });
  await page.click("#p-deposit");
  await done(page, "perp", "deposit margin");
  await fill(page, { "p-lev-in": "3" });
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

  await page.click("#p-close");
  await done(page, "perp", "close");
  await waitText(page, "p-size", (t) => t === "no position", "keeper fill of the close");

  await giveSynth(wallet.account.address, 10n ** 16n);
  await tab(page, "vault");
  await page.click("#v-close");
  await done(page, "vault", "close");
  await waitText(page, "v-debt", (t) => t.startsWith("0.000000"), "vault closed");

  await tab(page, "pool");
  await waitText(page, "l-nav", (t) => usd(t) > 0, "pool NAV");
  await shot(page, "pool");
  await tab(page, "history");
  await waitText(page, "h-rows", (t) => t.includes("OrderFilled"), "fills in the history");
  await shot(page, "history");
  await tab(page, "dev");
  await shot(page, "dev");
  await page.setViewportSize({ width: 390, height: 844 }); // a phone
  await tab(page, "perp");
  await shot(page, "perp-phone");
  await page.close();
});

test("market CLOSED: risk-increasing actions refused in words, deposit, burn, close still work", async () => {
  await dev("clock?to=open");
  const { page, wallet } = await open(3, "vault");
  await waitText(page, "h-status", (t) => t === "OPEN", "market open");
  await fill(page, { "v-coll-in": "2000", "v-synth-in": "2" });
  await page.click("#v-open");
  await done(page, "vault", "open");

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
  await dev("clock?to=open");
  await page.close();
});
