// Human units: plain, fixed decimals, tabular (no layout shift while prices update).
import sessionsJson from "./generated/sessions.json";

export const WAD = 10n ** 18n;

/** `units` with `decimals` shown to `places` places, thousands separated, rounded down. */
export function fmtUnits(units: bigint, decimals: number, places = 2): string {
  const neg = units < 0n;
  let v = neg ? -units : units;
  const scale = 10n ** BigInt(decimals);
  const shown = 10n ** BigInt(places);
  v = (v * shown) / scale;
  const int = (v / shown).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  const frac = places ? "." + (v % shown).toString().padStart(places, "0") : "";
  return `${neg ? "-" : ""}${int}${frac}`;
}
export const usd = (wad: bigint, places = 2) => `$${fmtUnits(wad, 18, places)}`;
export const shares = (wad: bigint, places = 4) => fmtUnits(wad, 18, places);
export const pct = (bps: bigint | number, places = 2) => `${(Number(bps) / 100).toFixed(places)}%`;

/** "1500" or "2.5" in human units -> integer units; a sentence when it is not an amount. */
export function parseAmount(text: string, decimals: number, what: string): bigint | string {
  const t = text.trim().replaceAll(",", "");
  if (!/^\d+(\.\d+)?$/.test(t)) return `${what}: ${JSON.stringify(text)} is not a number`;
  const [i, f = ""] = t.split(".");
  if (f.length > decimals) return `${what}: at most ${decimals} decimals (got ${text})`;
  const units = BigInt(i) * 10n ** BigInt(decimals) + BigInt(f.padEnd(decimals, "0") || "0");
  if (units === 0n) return `${what} must be more than 0 (got ${text})`;
  return units;
}

/** "1 d 2 h", "3 h 5 min", "59 s": the two largest units (as the CLI prints). */
export function duration(seconds: number): string {
  const s = Math.max(Math.floor(seconds), 0);
  const parts: [number, string][] = [
    [Math.floor(s / 86400), "d"], [Math.floor((s % 86400) / 3600), "h"],
    [Math.floor((s % 3600) / 60), "min"], [s % 60, "s"],
  ];
  let first = parts.findIndex(([n]) => n > 0);
  if (first < 0) return "0 s";
  return parts.slice(first, first + 2).filter(([n]) => n).map(([n, u]) => `${n} ${u}`).join(" ");
}

const nyFmt = new Intl.DateTimeFormat("en-US", {
  timeZone: "America/New_York", weekday: "short", month: "short", day: "numeric",
  hour: "2-digit", minute: "2-digit", hour12: false,
});
const localFmt = new Intl.DateTimeFormat(undefined, {
  weekday: "short", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit",
});
/** A time in NYSE time and in the user's own. */
export const when = (ts: number) =>
  `${nyFmt.format(ts * 1000)} New York (${localFmt.format(ts * 1000)} your time)`;

// NYSE sessions [open, close) from synthequity.market_hours (generated at build time)
const sessions = sessionsJson as [number, number][];
export function sessionAt(ts: number): [number, number] | null {
  return sessions.find(([o, c]) => o <= ts && ts < c) ?? null;
}
export function nextOpen(ts: number): number | null {
  return sessions.find(([o]) => o > ts)?.[0] ?? null;
}
