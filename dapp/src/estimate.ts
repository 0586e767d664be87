// The perp screen's fill estimate, for both sides: a long fills above the oracle price when
// the skew is long (it adds to it), a short fills where the skew it reduces puts it.
import { shares, usd } from "./format";
import * as m from "./model";

export interface EstimateInput { priceWad: bigint; skew: bigint; size: bigint; keeperFee: bigint; p: m.PerpParams }

/** One side's numbers: the signed order, its fill, fee and notional. */
export function side(x: EstimateInput, sign: 1n | -1n) {
  const delta = sign * x.size;
  const fill = m.fillPrice(x.priceWad, x.skew, delta, x.p);
  return { delta, fill, fee: m.orderFee(x.skew, delta, fill, x.p), notional: m.notional(delta, fill) };
}

/** "Long 2.000000: fill ≈ $…, fee ≈ $… | Short 2.000000: fill ≈ $…, fee ≈ $…" (+ the keeper fee). */
export function estimateText(x: EstimateInput): string {
  const line = (name: string, sign: 1n | -1n) => {
    const e = side(x, sign);
    return `${name} ${shares(x.size, 6)}: fill ≈ ${usd(e.fill, 4)}, fee ≈ ${usd(e.fee)}, notional ≈ ${usd(e.notional)}`;
  };
  return `${line("Long", 1n)} | ${line("Short", -1n)} (oracle ${usd(x.priceWad)}, skew ${shares(x.skew)}; keeper fee ${usd(x.keeperFee)})`;
}
