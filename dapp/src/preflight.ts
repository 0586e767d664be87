// What a wallet user is told before the wallet is asked to sign: the CLI's sentences
// (synthequity/user/preflight.py), each null when the action may go ahead.
import { fmtUnits, nextOpen, when } from "./format";

export const STATUS = ["UNKNOWN", "CLOSED", "OPEN", "HALTED"] as const;

export function priceProblem(
  status: number, updatedAt: number, now: number, maxAgeS: number, hasPrice: boolean,
  suspect = false,
): string | null {
  if (!hasPrice) return "no price yet: the oracle has not reported (is the oracle keeper running?)";
  if (status === 1) {
    const next = nextOpen(now);
    return `market closed${next ? `; next NYSE open ${when(next)}` : ""}`;
  }
  if (suspect) return "market HALTED: the last price jumped and is not confirmed yet (suspect)";
  if (status !== 2) return `market ${STATUS[status] ?? status}: trading is suspended`;
  const age = now - updatedAt;
  if (age > maxAgeS) return `stale price: last update ${age} s ago (the market accepts ${maxAgeS} s)`;
  return null;
}

export function balanceProblem(have: bigint, need: bigint, decimals: number, what: string, places = 2) {
  if (have < need)
    return `insufficient ${what}: you have ${fmtUnits(have, decimals, places)}, this needs ${fmtUnits(need, decimals, places)}`;
  return null;
}

export function mintProblem(maxMintable: bigint, want: bigint, symbol: string) {
  if (want > maxMintable)
    return `below the minimum collateral ratio: at most ${fmtUnits(maxMintable, 18, 6)} ${symbol} can be minted against this collateral`;
  return null;
}

export function withdrawProblem(withdrawable: bigint, want: bigint, decimals: number, what: string) {
  if (want > withdrawable)
    return `${what}: at most ${fmtUnits(withdrawable, decimals)} can be withdrawn now (the rest backs what you owe or hold open)`;
  return null;
}

export const first = (...problems: (string | null | undefined)[]) =>
  problems.find((p) => p) ?? null;
