// The page's human units: amounts shown rounded down with thousands separators, amounts typed
// parsed exactly (or refused in words), durations, times in New York's and the user's zone,
// and the NYSE sessions generated from synthequity.market_hours.
import { describe, expect, it } from "vitest";
import sessionsJson from "../src/generated/sessions.json";
import { duration, fmtUnits, nextOpen, parseAmount, pct, sessionAt, shares, usd, when } from "../src/format";

describe("fmtUnits, usd, shares, pct", () => {
  it.each([
    [1_234_567_890n, 6, 2, "1,234.56"], // rounded down, never up
    [999n, 6, 2, "0.00"],
    [-1_500_000n, 6, 2, "-1.50"],
    [10n ** 24n, 18, 0, "1,000,000"],
    [123_456_789n, 6, 6, "123.456789"],
  ] as const)("fmtUnits(%s, %i, %i) = %s", (units, dec, places, out) => {
    expect(fmtUnits(units, dec, places)).toBe(out);
  });
  it("formats USD, shares and percents", () => {
    expect(usd(262_419_999_999_999_999_999n)).toBe("$262.41");
    expect(shares(25n * 10n ** 17n, 6)).toBe("2.500000");
    expect(pct(15_000n, 0)).toBe("150%");
    expect(pct(12_345)).toBe("123.45%");
  });
});

describe("parseAmount", () => {
  it("reads human units exactly", () => {
    expect(parseAmount("1500", 6, "x")).toBe(1_500_000_000n);
    expect(parseAmount(" 1,234.5 ", 6, "x")).toBe(1_234_500_000n);
    expect(parseAmount("0.000001", 6, "x")).toBe(1n);
    expect(parseAmount("2.5", 18, "x")).toBe(25n * 10n ** 17n);
  });
  it.each([
    ["abc", 'collateral: "abc" is not a number'],
    ["-5", 'collateral: "-5" is not a number'],
    ["1e3", 'collateral: "1e3" is not a number'],
    ["0.0000001", "collateral: at most 6 decimals (got 0.0000001)"],
    ["0", "collateral must be more than 0 (got 0)"],
  ])("refuses %j in words", (text, sentence) => {
    expect(parseAmount(text, 6, "collateral")).toBe(sentence);
  });
});

describe("duration", () => {
  it.each([
    [0, "0 s"], [59.9, "59 s"], [60, "1 min"], [3_725, "1 h 2 min"], [93_784, "1 d 2 h"],
    [-5, "0 s"],
  ] as const)("%s s = %s", (s, out) => expect(duration(s)).toBe(out));
});

describe("when: New York time and the user's", () => {
  it("names both zones", () => {
    const t = Date.UTC(2024, 5, 7, 19, 0) / 1000; // Fri 2024-06-07 19:00 UTC = 15:00 EDT
    const text = when(t);
    expect(text).toMatch(/^Fri, Jun 7, 15:00 New York \(.+ your time\)$/);
  });
});

describe("NYSE sessions (generated from synthequity.market_hours)", () => {
  const sessions = sessionsJson as [number, number][];
  it("finds the session a time falls in, and the next open", () => {
    expect(sessions.length).toBeGreaterThan(400); // ~400 days back, ~700 ahead
    const [open, close] = sessions[10];
    expect(sessionAt(open)).toEqual([open, close]);
    expect(sessionAt(close - 1)).toEqual([open, close]);
    expect(sessionAt(close)).toBeNull(); // [open, close)
    expect(nextOpen(close)).toBe(sessions[11][0]);
    expect(nextOpen(open - 1)).toBe(open);
    for (const [o, c] of sessions) {
      expect(c - o === 23_400 || c - o === 12_600).toBe(true); // 6.5 h, or an early close
      const ny = new Date(o * 1000).toLocaleString("en-US", { timeZone: "America/New_York", hour: "2-digit", minute: "2-digit", hour12: false });
      expect(ny).toBe("09:30");
    }
  });
});
