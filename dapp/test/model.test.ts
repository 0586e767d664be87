// The dapp's formulas against synthequity.model: vectors written by
// `python -m synthequity.dev.dapp_data` (dapp/src/generated/vectors.json).
import { describe, expect, it } from "vitest";
import vectors from "../src/generated/vectors.json";
import * as m from "../src/model";

const B = (x: string) => BigInt(x);
const vp = m.vaultParams(vectors.vault_params.map(B));
const pp = m.perpParams(vectors.perp_params.map(B));
const upu = B(vectors.usd_per_unit);

describe("vault formulas = synthequity.model.vault", () => {
  it.each(vectors.vault.map((v, i) => [i, v] as const))("vector %i", (_, v) => {
    const [c, d, p] = [B(v.collateral), B(v.debt), B(v.price)];
    expect(m.collateralRatioBps(c, d, p, upu).toString()).toBe(v.cr_bps);
    expect(m.isBelow(c * upu, d, p, vp.mcrBps)).toBe(v.below_mcr);
    expect(m.vaultLiquidationPrice(c, d, vp, upu)?.toString() ?? null).toBe(v.liquidation_price);
    const [rate, dt] = [B(v.rate), BigInt(v.dt)];
    const after = m.rateAt(rate, 0n, dt, m.feePerSecond(vp));
    expect(after.toString()).toBe(v.rate_after);
    expect(m.debtAt(d, rate, after).toString()).toBe(v.debt_after);
    expect(m.debtIn(d, rate, dt, vp).toString()).toBe(v.debt_after);
    expect(m.feeSynthCost(d, p, upu).toString()).toBe(v.fee_synth_cost);
    expect(m.maxMintable(c, d, p, vp.mcrBps, upu).toString()).toBe(v.max_mintable);
  });
});

describe("perp formulas = synthequity.model.perp", () => {
  it.each(vectors.perp.map((v, i) => [i, v] as const))("vector %i", (_, v) => {
    const [price, skew, delta] = [B(v.price), B(v.skew), B(v.delta)];
    const fill = m.fillPrice(price, skew, delta, pp);
    expect(fill.toString()).toBe(v.fill);
    expect(m.orderFee(skew, delta, fill, pp).toString()).toBe(v.fee);
    expect(m.slippageBound(price, delta, 100n).toString()).toBe(v.bound);
    const [size, entryPrice, margin, fundingEntry] = v.position.map(B);
    const pos = { size, entryPrice, margin, fundingEntry };
    const index = B(v.index);
    expect(m.pnl(pos, price).toString()).toBe(v.pnl);
    expect(m.equity(pos, price, index).toString()).toBe(v.equity);
    expect(m.isLiquidatable(pos, price, index, pp)).toBe(v.liquidatable);
    expect(m.withdrawable(pos, price, index, pp).toString()).toBe(v.withdrawable);
    expect(m.minEquity(size, price, pp.initialMarginBps, pp).toString()).toBe(v.min_equity_imr);
    expect(m.perpLiquidationPrice(pos, index, pp)?.toString() ?? null).toBe(v.liquidation_price);
    const [rate, idx, at] = v.funding_in.map(B);
    const out = m.accrueFunding({ rate, index: idx, updatedAt: at }, skew, price, B(v.funding_now), pp);
    expect([out.rate.toString(), out.index.toString()]).toEqual(v.funding_out);
  });
});

describe("redemption plan and fee = synthequity.model.vault", () => {
  it.each(vectors.redemption.map((v, i) => [i, v] as const))("vector %i", (_, v) => {
    const entries = v.entries.map(([account, key, collateral, debt]) =>
      ({ account, key: B(key), collateral: B(collateral), debt: B(debt) }));
    const plan = m.planRedemption(entries, B(v.amount), B(v.price), vp, upu, B(v.rate));
    expect(plan.firstHint).toBe(v.first_hint);
    expect(plan.partialHint).toBe(v.partial_hint);
    expect(plan.taken.map(([a, d, c]) => [a, d.toString(), c.toString()])).toEqual(v.taken);
    expect(plan.redeemed.toString()).toBe(v.redeemed);
    expect(plan.collateral.toString()).toBe(v.collateral);
    expect(m.redemptionFeeWad(B(v.base_rate), plan.redeemed, B(v.supply)).toString()).toBe(v.fee_wad);
    const [who, coll, debt, before, insert] = v.relist;
    expect(m.relistHints(entries, who, B(coll), B(debt), B(v.rate), upu)).toEqual([before, insert]);
  });
});

describe("conditional orders = synthequity.model.orders", () => {
  it.each(vectors.orders.map((v, i) => [i, v] as const))("vector %i", (_, v) => {
    const [size, trigger, price, held] = [B(v.size), B(v.trigger), B(v.price), B(v.held)];
    const slip = v.slippage_bps === null ? null : BigInt(v.slippage_bps);
    expect(m.acceptablePrice(size, trigger, slip).toString()).toBe(v.acceptable);
    const part = v.part === null ? null : B(v.part);
    expect(m.reduceDelta(held, part).toString()).toBe(v.reduce_delta);
    const kinds = [m.LIMIT, m.STOP, m.TAKE_PROFIT, m.STOP_LOSS];
    expect(kinds.map((k) => m.crosses(k, size, trigger, price))).toEqual(v.crosses);
  });
});

describe("dividends = synthequity.model.oracle", () => {
  it.each(vectors.dividends.map((v, i) => [i, v] as const))("vector %i", (_, v) => {
    const per = v.amounts.map((a, i) => m.dividendPerBaseShareWad(B(a), 8, B(v.multipliers[i])));
    expect(per.map(String)).toEqual(v.per_share);
    const held = v.held.map((h) => [B(h[0]), B(h[1]), B(h[2])] as const);
    expect(m.dividendsReceivedWad(held, per).map(String)).toEqual([v.received, v.paid]);
  });
});
