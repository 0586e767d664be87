// The numbers a user must trust, by the same integer formulas as synthequity.model (Python):
// test/model.test.ts checks each against vectors that synthequity.dev.dapp_data generates.
export const WAD = 10n ** 18n;
export const BPS = 10_000n;
export const DAY = 86_400n;

const abs = (x: bigint) => (x < 0n ? -x : x);
const max = (a: bigint, b: bigint) => (a > b ? a : b);
const min = (a: bigint, b: bigint) => (a < b ? a : b);
/** Python's floor division (bigint `/` truncates toward zero). */
export const floorDiv = (a: bigint, b: bigint) => {
  const q = a / b;
  return (a % b !== 0n && (a < 0n) !== (b < 0n)) ? q - 1n : q;
};
export const ceilDiv = (a: bigint, b: bigint) => -floorDiv(-a, b);

// ---- vault (synthequity.model.vault) ----------------------------------------------------
export interface VaultParams {
  mcrBps: bigint;
  liquidationRatioBps: bigint;
  liquidationPenaltyBps: bigint;
  protocolShareBps: bigint;
  minDebtUsd: bigint;
  stabilityFeeBps: bigint;
  debtCeiling: bigint;
}
export const vaultParams = (t: readonly bigint[]): VaultParams => ({
  mcrBps: t[0], liquidationRatioBps: t[1], liquidationPenaltyBps: t[2], protocolShareBps: t[3],
  minDebtUsd: t[4], stabilityFeeBps: t[5], debtCeiling: t[6],
});

/** collateral value / (debt x price) < ratio, exactly (`is_below`). */
export const isBelow = (collateralUsd: bigint, debt: bigint, priceWad: bigint, ratioBps: bigint) =>
  collateralUsd * BPS * WAD < debt * priceWad * ratioBps;

/** The lowest price (wad) at which the position is liquidatable; null without debt. */
/** One base share's price in 1e18 USD from a feed's quote and its shares multiplier (1e18,
 * splits and dividends), rounded down as `oracle_guard` does. */
export function basePriceWad(answer: bigint, decimals: number, multiplierWad: bigint): bigint {
  return (answer * multiplierWad) / 10n ** BigInt(decimals);
}

/** What one base share was paid at an ex-date: the dividend (feed decimals) x the shares
 * multiplier before it, in 1e18 USD, rounded down (`model.oracle.dividend_per_base_share_wad`). */
export const dividendPerBaseShareWad = (amount: bigint, decimals: number, multiplierBeforeWad: bigint) =>
  basePriceWad(amount, decimals, multiplierBeforeWad);

/** Over ex-dates: [received, paid] in 1e18 USD for an account that held, at each, `[synth,
 * debt, perp size]` (1e18 base shares) and was paid `perShare[i]` a base share: synth and a
 * long receive, debt and a short pay, each rounded down (`model.oracle.dividends_received_wad`). */
export function dividendsReceivedWad(held: readonly (readonly [bigint, bigint, bigint])[], perShare: readonly bigint[]): [bigint, bigint] {
  let received = 0n;
  let paid = 0n;
  held.forEach(([synth, debt, size], i) => {
    const per = perShare[i];
    received += ((synth + (size > 0n ? size : 0n)) * per) / WAD;
    paid += ((debt + (size < 0n ? -size : 0n)) * per) / WAD;
  });
  return [received, paid];
}

export function vaultLiquidationPrice(
  collateral: bigint, debt: bigint, p: VaultParams, usdPerUnit: bigint,
): bigint | null {
  if (debt === 0n) return null;
  return floorDiv(collateral * usdPerUnit * BPS * WAD, debt * p.liquidationRatioBps) + 1n;
}

/** Collateral ratio in bps, rounded down (the CLI's `ape run vault status`). */
export const collateralRatioBps = (
  collateral: bigint, debt: bigint, priceWad: bigint, usdPerUnit: bigint,
) => floorDiv(collateral * usdPerUnit * 10_000n, floorDiv(debt * priceWad, WAD));

/** The most synth a position mints at the price (`max_mintable`): the debt its collateral
 * carries at the MCR, rounded down, less its debt. */
export function maxMintable(collateral: bigint, debt: bigint, priceWad: bigint, mcrBps: bigint, usdPerUnit: bigint): bigint {
  const limit = (collateral * usdPerUnit * BPS * WAD) / (priceWad * mcrBps);
  return limit > debt ? limit - debt : 0n;
}

/** Debt dust: worth less than `min_debt_usd` at the price. */
export const isDust = (debt: bigint, priceWad: bigint, p: VaultParams) =>
  debt > 0n && debt * priceWad < p.minDebtUsd * WAD;

export const YEAR = 365n * DAY;
/** The stability fee per second, wad (`VaultParams.fee_per_second`, rounded down). */
export const feePerSecond = (p: VaultParams) => (p.stabilityFeeBps * WAD) / (BPS * YEAR);
/** The vault's fee index at `now` (`rate_at`): linear within one accrual, rounded up. */
export function rateAt(rate: bigint, last: bigint, now: bigint, fps: bigint): bigint {
  const dt = now - last;
  if (dt === 0n || fps === 0n) return rate;
  return rate + ceilDiv(rate * fps * dt, WAD);
}
/** A recorded debt brought from index `snapshot` to `rate` (`debt_at`, rounded up). */
export const debtAt = (debt: bigint, snapshot: bigint, rate: bigint) =>
  debt === 0n || snapshot === rate ? debt : ceilDiv(debt * rate, snapshot);
/** The debt `dt` seconds from now, from the vault's index now (one accrual: the least it
 * can be; each touch in between compounds a little more). */
export const debtIn = (debt: bigint, rateNow: bigint, dt: bigint, p: VaultParams) =>
  debtAt(debt, rateNow, rateAt(rateNow, 0n, dt, feePerSecond(p)));
/** Collateral units `buy_fee_synth(amount)` costs at the price (`fee_synth_cost`, rounded up). */
export const feeSynthCost = (amount: bigint, priceWad: bigint, usdPerUnit: bigint) =>
  ceilDiv(amount * priceWad, WAD * usdPerUnit);

// ---- perp (synthequity.model.perp) ------------------------------------------------------
export interface PerpParams {
  skewScale: bigint; takerFeeBps: bigint; makerFeeBps: bigint; initialMarginBps: bigint;
  maintenanceMarginBps: bigint; liquidationPenaltyBps: bigint; keeperRewardShareBps: bigint;
  minKeeperFee: bigint; maxKeeperFee: bigint; maxFundingVelocity: bigint; maxFundingRate: bigint;
  minMarginUsd: bigint;
}
export const perpParams = (t: readonly bigint[]): PerpParams => ({
  skewScale: t[0], takerFeeBps: t[1], makerFeeBps: t[2], initialMarginBps: t[3],
  maintenanceMarginBps: t[4], liquidationPenaltyBps: t[5], keeperRewardShareBps: t[6],
  minKeeperFee: t[7], maxKeeperFee: t[8], maxFundingVelocity: t[9], maxFundingRate: t[10],
  minMarginUsd: t[11],
});
export interface Position { size: bigint; entryPrice: bigint; margin: bigint; fundingEntry: bigint }

export const mulUp = (a: bigint, b: bigint) => {
  const q = ceilDiv(abs(a * b), WAD);
  return a * b >= 0n ? q : -q;
};
export const mulDown = (a: bigint, b: bigint) => {
  const q = abs(a * b) / WAD;
  return a * b >= 0n ? q : -q;
};
export const premium = (skew: bigint, p: PerpParams) => {
  const q = (abs(skew) * WAD) / p.skewScale;
  return skew >= 0n ? q : -q;
};
/** Synthetix v2 fill price, rounded against the trader. */
export function fillPrice(price: bigint, skew: bigint, delta: bigint, p: PerpParams): bigint {
  const avg = premium(skew, p) + premium(skew + delta, p);
  const num = price * (2n * WAD + avg);
  return delta > 0n ? ceilDiv(num, 2n * WAD) : floorDiv(num, 2n * WAD);
}
/** The worst fill an order accepts: `bps` above the price for a buy, below for a sell. */
export const slippageBound = (priceWad: bigint, sizeDelta: bigint, bps: bigint) =>
  sizeDelta > 0n ? (priceWad * (10_000n + bps)) / 10_000n : (priceWad * (10_000n - bps)) / 10_000n;
/** Taker fee on the part of delta that grows |skew|, maker on the part that shrinks it. */
export function orderFee(skew: bigint, delta: bigint, fill: bigint, p: PerpParams): bigint {
  if (delta === 0n) return 0n;
  let taker: bigint;
  let maker: bigint;
  if (skew === 0n || (skew > 0n) === (delta > 0n)) {
    taker = abs(delta);
    maker = 0n;
  } else {
    maker = min(abs(delta), abs(skew));
    taker = abs(delta) - maker;
  }
  return ceilDiv(taker * fill * p.takerFeeBps + maker * fill * p.makerFeeBps, WAD * BPS);
}
export function fundingVelocity(skew: bigint, p: PerpParams): bigint {
  const prop = max(-WAD, min(WAD, premium(skew, p)));
  const v = (abs(prop) * p.maxFundingVelocity) / WAD;
  return prop >= 0n ? v : -v;
}
export interface FundingState { rate: bigint; index: bigint; updatedAt: bigint }
/** The funding rate and index accrued to `now` (the same trapezoid as the contract). */
export function accrueFunding(
  s: FundingState, skew: bigint, price: bigint, now: bigint, p: PerpParams,
): FundingState {
  const dt = now - s.updatedAt;
  if (dt <= 0n) return s;
  const cap = p.maxFundingRate;
  const v = fundingVelocity(skew, p);
  const r0 = max(-cap, min(cap, s.rate));
  let tMove: bigint;
  if (v === 0n) tMove = dt;
  else {
    const room = v > 0n ? cap - r0 : -cap - r0;
    tMove = min(dt, floorDiv(room * DAY, v));
  }
  const rEnd = max(-cap, min(cap, r0 + floorDiv(v * tMove, DAY)));
  const area = floorDiv((r0 + rEnd) * tMove, 2n) + rEnd * (dt - tMove);
  return { rate: rEnd, index: s.index + floorDiv(area * price, DAY * WAD), updatedAt: now };
}
export const fundingOwed = (size: bigint, indexNow: bigint, indexEntry: bigint) =>
  mulUp(size, indexNow - indexEntry);
export const pnl = (pos: Position, price: bigint) => mulDown(pos.size, price - pos.entryPrice);
export const equity = (pos: Position, price: bigint, index: bigint) =>
  pos.margin + pnl(pos, price) - fundingOwed(pos.size, index, pos.fundingEntry);
export const notional = (size: bigint, price: bigint) => mulUp(abs(size), price);
export const requirement = (size: bigint, price: bigint, marginBps: bigint) =>
  ceilDiv(notional(size, price) * marginBps, BPS);
export function keeperReward(size: bigint, price: bigint, p: PerpParams): bigint {
  const penalty = (notional(size, price) * p.liquidationPenaltyBps) / BPS;
  const reward = (penalty * p.keeperRewardShareBps) / BPS;
  return max(p.minKeeperFee, min(p.maxKeeperFee, reward));
}
/** equity < notional x MMR + keeper reward. */
export function isLiquidatable(pos: Position, price: bigint, index: bigint, p: PerpParams) {
  if (pos.size === 0n) return false;
  return equity(pos, price, index) <
    requirement(pos.size, price, p.maintenanceMarginBps) + keeperReward(pos.size, price, p);
}
/** The equity a position must keep after a fill or a withdrawal. */
export function minEquity(size: bigint, price: bigint, marginBps: bigint, p: PerpParams) {
  if (size === 0n) return 0n;
  return max(
    max(requirement(size, price, marginBps),
      requirement(size, price, p.maintenanceMarginBps) + keeperReward(size, price, p)),
    p.minMarginUsd,
  );
}
export const grows = (oldSize: bigint, newSize: bigint) =>
  newSize !== 0n && (abs(newSize) > abs(oldSize) || (newSize > 0n) !== (oldSize > 0n));
/** Margin that may leave: unrealized profit never counts. */
export function withdrawable(pos: Position, price: bigint, index: bigint, p: PerpParams) {
  const upnl = pnl(pos, price) - fundingOwed(pos.size, index, pos.fundingEntry);
  const free = pos.margin + min(0n, upnl) - minEquity(pos.size, price, p.initialMarginBps, p);
  return max(free, 0n);
}
/** Where `isLiquidatable` turns true (bisection, as the Python model: to the wei). */
export function perpLiquidationPrice(pos: Position, index: bigint, p: PerpParams): bigint | null {
  if (pos.size === 0n) return null;
  const hit = (price: bigint) => isLiquidatable(pos, price, index, p);
  const long = pos.size > 0n;
  if (hit(0n) !== long) return long ? null : 0n;
  let safe = max(pos.entryPrice, 1n);
  while (hit(safe) === long) {
    safe *= 2n;
    if (safe > 2n ** 200n) return null;
  }
  let lo = 0n;
  let hi = safe;
  while (hi - lo > 1n) {
    const mid = (lo + hi) / 2n;
    if (hit(mid) === long) lo = mid;
    else hi = mid;
  }
  return long ? lo : hi;
}

// ---- redemptions (synthequity.model.vault) ----------------------------------------------
export const MASK96 = 2n ** 96n - 1n;
export const MAX_REDEEMED = 64;
export const REDEMPTION_FEE_FLOOR_WAD = 5n * 10n ** 15n;
export const REDEMPTION_BETA = 2n;
export const ZERO = "0x0000000000000000000000000000000000000000";

/** A node of the vault's sorted list as the chain shows it, in list order (`ListEntry`). */
export interface ListEntry { account: string; key: bigint; collateral: bigint; debt: bigint }

/** The sorted list's key of a recorded position (`sort_key`): collateral USD x the index its
 * debt was recorded at / that debt, rounded down, in [1, 2^96 - 1]; 0 without debt. */
export function sortKey(collateral: bigint, debt: bigint, snapshot: bigint, usdPerUnit: bigint): bigint {
  if (debt === 0n) return 0n;
  return max(min((collateral * usdPerUnit * snapshot) / debt, MASK96), 1n);
}

/** The predecessor a position of key `key` gets (`insert_hint`): the last node with a key
 * below it, `skip` left out; the empty address for the head. */
export function insertHint(entries: readonly ListEntry[], key: bigint, skip: string | null = null): string {
  let prev = ZERO;
  for (const e of entries) {
    if (e.account === skip) continue;
    if (e.key >= key) break;
    prev = e.account;
  }
  return prev;
}

/** `account`'s predecessor in the list now (`prev_hint`): the empty address when it is the
 * head or not listed. */
export function prevHint(entries: readonly ListEntry[], account: string): string {
  let prev = ZERO;
  for (const e of entries) {
    if (e.account === account) return prev;
    prev = e.account;
  }
  return ZERO;
}

export const HINT_SLACK_BPS = 10n;

/** The hints for a vault call that leaves `account` at `collateral` units and `debt` (accrued,
 * with the call's mint or burn) (`relist_hints`): [its predecessor now, the predecessor its
 * new key gets, looked up HINT_SLACK_BPS lower so fees accruing before mining leave it at or
 * before the place]. Without hints the vault walks its list from the head. */
export function relistHints(entries: readonly ListEntry[], account: string, collateral: bigint, debt: bigint,
  rateIndex: bigint, usdPerUnit: bigint): [string, string] {
  const before = prevHint(entries, account);
  const key = sortKey(collateral, debt, rateIndex, usdPerUnit);
  if (key === 0n) return [before, ZERO];
  return [before, insertHint(entries, max(key - (key * HINT_SLACK_BPS) / BPS, 1n), account)];
}

export interface RedemptionPlan {
  firstHint: string; partialHint: string;
  taken: [string, bigint, bigint][]; // (account, debt, collateral units)
  redeemed: bigint; collateral: bigint; // collateral units before the fee
}

/** What `redeem(amount, ...)` does at a price (`plan_redemption`): skips the positions below
 * the liquidation ratio, then takes from the riskiest up, each partly redeemed one keeping
 * at least the minimum debt; the hints to pass. */
export function planRedemption(
  entries: readonly ListEntry[], amount: bigint, priceWad: bigint, p: VaultParams,
  usdPerUnit: bigint, rate: bigint,
): RedemptionPlan {
  let first = ZERO;
  let i = 0;
  while (i < entries.length &&
    isBelow(entries[i].collateral * usdPerUnit, entries[i].debt, priceWad, p.liquidationRatioBps)) {
    first = entries[i].account;
    i += 1;
  }
  const keep = ceilDiv(p.minDebtUsd * WAD, priceWad);
  let left = amount, out = 0n, partial = ZERO;
  const taken: [string, bigint, bigint][] = [];
  for (const e of entries.slice(i, i + MAX_REDEEMED)) {
    if (left === 0n) break;
    let take = min(left, e.debt);
    if (take < e.debt && e.debt - take < keep) {
      if (e.debt <= keep) break;
      take = e.debt - keep;
    }
    const coll = (take * priceWad) / (WAD * usdPerUnit);
    taken.push([e.account, take, coll]);
    left -= take;
    out += coll;
    if (take < e.debt) {
      const key = sortKey(e.collateral - coll, e.debt - take, rate, usdPerUnit);
      const gone = new Set(taken.map((t) => t[0]));
      partial = insertHint(entries.filter((x) => !gone.has(x.account)), key, e.account);
      break;
    }
  }
  return { firstHint: first, partialHint: partial, taken, redeemed: amount - left, collateral: out };
}

/** The fee rate (wad) of redeeming `redeemed` out of `supply` at the base rate now
 * (`redemption_fee_wad` with the decay already applied: the vault's `redemption_base_rate`). */
export const redemptionFeeWad = (baseRateNow: bigint, redeemed: bigint, supply: bigint) =>
  min(min(baseRateNow + (redeemed * WAD) / supply / REDEMPTION_BETA, WAD) + REDEMPTION_FEE_FLOOR_WAD, WAD);

// ---- conditional orders (synthequity.model.orders; PerpOrders) -----------------------------
export const LIMIT = 1, STOP = 2, TAKE_PROFIT = 3, STOP_LOSS = 4;
export const KIND_NAMES: Record<number, string> = { 1: "limit", 2: "stop", 3: "take-profit", 4: "stop-loss" };
export const SIZE_ALL = 2n ** 127n - 1n; // a reduce-only order of this size closes the whole position
export const PRICE_MAX = 2n ** 96n - 1n; // an acceptable price at or above it: no bound

/** The worst fill an order accepts: `slippageBps` beyond its trigger (a buy above, a sell
 * below), or none (`null`: a stop-loss that must fill through a gap). */
export function acceptablePrice(sizeDelta: bigint, trigger: bigint, slippageBps: bigint | null): bigint {
  if (slippageBps === null) return sizeDelta > 0n ? PRICE_MAX : 0n;
  if (sizeDelta > 0n) {
    const up = (trigger * (BPS + slippageBps)) / BPS;
    return up < PRICE_MAX ? up : PRICE_MAX;
  }
  return (trigger * (BPS - slippageBps)) / BPS;
}

/** A take-profit's or stop-loss's signed size: the trade that reduces `positionSize` by
 * `size` shares (all of it, whatever it is when it fills, for `null` or more than held). */
export function reduceDelta(positionSize: bigint, size: bigint | null): bigint {
  const whole = size === null || size >= abs(positionSize);
  const magnitude = whole ? SIZE_ALL : size;
  return positionSize > 0n ? -magnitude : magnitude;
}

/** Where a take-profit (`above`: true for a long) or stop-loss must sit against the price. */
export const triggerSide = (kind: number, positionSize: bigint) =>
  (kind === TAKE_PROFIT) === (positionSize > 0n) ? "above" : "below";

/** Does `price` cross the order's trigger (LIMIT / TAKE_PROFIT: a buy at or below, a sell at
 * or above; STOP / STOP_LOSS: a buy at or above, a sell at or below)? */
export function crosses(kind: number, sizeDelta: bigint, trigger: bigint, price: bigint): boolean {
  if (price === trigger) return true;
  const below = price < trigger;
  return kind === LIMIT || kind === TAKE_PROFIT ? below === sizeDelta > 0n : below !== sizeDelta > 0n;
}
