// The fill estimate names each side with its own fill (it used to read "long" for both).
import { describe, expect, it } from "vitest";
import vectors from "../src/generated/vectors.json";
import { estimateText, side } from "../src/estimate";
import * as m from "../src/model";

const pp = m.perpParams(vectors.perp_params.map(BigInt));
const WAD = 10n ** 18n;

describe("perp fill estimate", () => {
  const x = { priceWad: 250n * WAD, skew: 40n * WAD, size: 2n * WAD, keeperFee: 2n * WAD, p: pp };
  it("prices the short as a sell: its own fill, below the long's", () => {
    const long = side(x, 1n), short = side(x, -1n);
    expect(short.delta).toBe(-2n * WAD);
    expect(short.fill).toBe(m.fillPrice(x.priceWad, x.skew, -x.size, pp));
    expect(long.fill).toBe(m.fillPrice(x.priceWad, x.skew, x.size, pp));
    expect(short.fill < long.fill).toBe(true);
    expect(short.fee).toBe(m.orderFee(x.skew, -x.size, short.fill, pp));
  });
  it("names both sides in the text", () => {
    const t = estimateText(x);
    expect(t).toMatch(/^Long 2\.000000: fill ≈ \$[\d,.]+, fee .* \| Short 2\.000000: fill ≈ \$[\d,.]+/);
    const fills = [...t.matchAll(/fill ≈ \$([\d,.]+)/g)].map((r) => Number(r[1].replaceAll(",", "")));
    expect(fills[1]).toBeLessThan(fills[0]);
    expect(t).not.toMatch(/short mirrors/);
  });
  it("a short against a short skew pays the premium: fills below the oracle", () => {
    const s = side({ ...x, skew: -40n * WAD }, -1n);
    expect(s.fill < x.priceWad).toBe(true);
  });
});
