// The chain: config (addresses from deployments/<network>.json), a read client, EIP-6963
// wallet discovery, chain switching, and one snapshot of everything the screens show.
import {
  type Address, type Chain, type EIP1193Provider, type PublicClient, type WalletClient,
  BaseError, ContractFunctionRevertedError, createPublicClient, createWalletClient, custom,
  defineChain, http,
} from "viem";
import * as abi from "./generated/abi";
import { basePriceWad } from "./model";

export interface Config {
  rpcUrl: string;
  chainId: number;
  chainName: string;
  deployment: {
    network: string;
    core: Record<string, { address: Address; block: number | null }>;
    markets: Record<string, Record<string, { address: Address; block: number | null }>>;
  };
  devApi?: boolean;
  faucet?: boolean;
}

export interface Market {
  symbol: string;
  oracle: Address; vault: Address; synth: Address; perp: Address; pool: Address;
  collateral: Address;
  stabilityPool: Address | null; // the vault's stability pool (deployments before it: none)
  orders: Address | null; // the perp market's conditional-order book (before issue 20: none)
  fromBlock: bigint;
}

export function markets(cfg: Config): Market[] {
  return Object.entries(cfg.deployment.markets).map(([symbol, m]) => ({
    symbol,
    oracle: m.oracle.address, vault: m.vault.address, synth: m.synth.address,
    perp: m.perp.address, pool: m.pool.address, collateral: cfg.deployment.core.collateral.address,
    stabilityPool: m.stability_pool?.address ?? null,
    orders: m.perp_orders?.address ?? null,
    fromBlock: BigInt(Math.min(...Object.values(m).map((r) => r.block ?? 0))),
  }));
}

export function chainOf(cfg: Config): Chain {
  return defineChain({
    id: cfg.chainId, name: cfg.chainName,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [cfg.rpcUrl] } },
  });
}

export const reader = (cfg: Config): PublicClient =>
  createPublicClient({ chain: chainOf(cfg), transport: http(cfg.rpcUrl, { batch: true }) });

// ---- wallets (EIP-6963) ---------------------------------------------------------------------
export interface Wallet { info: { uuid: string; name: string; icon: string; rdns: string }; provider: EIP1193Provider }

export function discoverWallets(onChange: (ws: Wallet[]) => void): void {
  const found = new Map<string, Wallet>();
  window.addEventListener("eip6963:announceProvider", (e: Event) => {
    const d = (e as CustomEvent<Wallet>).detail;
    found.set(d.info.uuid, d);
    onChange([...found.values()]);
  });
  window.dispatchEvent(new Event("eip6963:requestProvider"));
}

/** Accounts, then the deployment's chain (switched to, or added when the wallet lacks it). */
export async function connect(w: Wallet, cfg: Config): Promise<{ account: Address; client: WalletClient }> {
  const [account] = (await w.provider.request({ method: "eth_requestAccounts" })) as Address[];
  const hex = `0x${cfg.chainId.toString(16)}` as const;
  const current = await w.provider.request({ method: "eth_chainId" });
  if (Number(current) !== cfg.chainId) {
    try {
      await w.provider.request({ method: "wallet_switchEthereumChain", params: [{ chainId: hex }] });
    } catch (e) {
      if ((e as { code?: number }).code !== 4902) throw e;
      await w.provider.request({
        method: "wallet_addEthereumChain",
        params: [{ chainId: hex, chainName: cfg.chainName, rpcUrls: [cfg.rpcUrl],
          nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 } }],
      });
    }
  }
  return { account, client: createWalletClient({ account, chain: chainOf(cfg), transport: custom(w.provider) }) };
}

/** A revert in words: the contract's own reason when there is one. */
export function reason(e: unknown): string {
  if (e instanceof BaseError) {
    const r = e.walk((x) => x instanceof ContractFunctionRevertedError);
    if (r instanceof ContractFunctionRevertedError)
      return r.reason ?? r.data?.errorName ?? r.shortMessage;
    if (/rejected|denied/i.test(e.shortMessage)) return "you rejected the request in your wallet";
    return e.shortMessage;
  }
  return String(e);
}

// ---- one read of the chain ------------------------------------------------------------------
export type Snapshot = Awaited<ReturnType<typeof snapshot>>;

export async function snapshot(pc: PublicClient, m: Market, me: Address | null) {
  const who = me ?? "0x0000000000000000000000000000000000000001";
  const r = <T,>(address: Address, a: readonly unknown[], functionName: string, args: unknown[] = []) =>
    pc.readContract({ address, abi: a as never, functionName, args } as never) as Promise<T>;
  const [pending, latestRound] = await Promise.all([
    pc.getBlock({ blockTag: "pending" }).catch(() => pc.getBlock()),
    r<bigint>(m.oracle, abi.EquityOracle, "latestRound"),
  ]);
  const hasPrice = latestRound > 0n;
  const [
    round, status, suspect, mult, oracleDecimals,
    vpos, maxMintable, riskParams, vaultMaxAge, vaultPaused,
    ppos, order, skew, fundingState, fundingRate, oi, params, poolNav, perpMaxAge, lpOpen,
    poolTotalAssets, poolSupply, poolShares, unlockAt, lockS, poolPnl, requiredNav,
    cash, synthBal, decimals, cashSymbol, synthSymbol,
    allowVault, allowPerp, allowPool, rateIndex, insurance,
  ] = await Promise.all([
    hasPrice ? r<readonly [bigint, bigint, bigint, bigint, bigint]>(m.oracle, abi.EquityOracle, "latestRoundData") : null,
    r<number>(m.oracle, abi.EquityOracle, "market_status"),
    r<boolean>(m.oracle, abi.EquityOracle, "suspect"),
    r<bigint>(m.oracle, abi.EquityOracle, "shares_multiplier_wad"),
    r<number>(m.oracle, abi.EquityOracle, "decimals"),
    r<readonly [bigint, bigint]>(m.vault, abi.SynthVault, "position", [who]),
    r<bigint>(m.vault, abi.SynthVault, "max_mintable", [who]),
    r<Record<string, bigint>>(m.vault, abi.SynthVault, "risk_params"),
    r<bigint>(m.vault, abi.SynthVault, "max_age_open"),
    r<boolean>(m.vault, abi.SynthVault, "paused"),
    r<{ size: bigint; entry_price: bigint; margin: bigint; funding_entry: bigint }>(m.perp, abi.PerpMarket, "position", [who]),
    r<{ size_delta: bigint; acceptable_price: bigint; committed_at: bigint; keeper_fee: bigint; round_id: bigint }>(m.perp, abi.PerpMarket, "pending_order", [who]),
    r<bigint>(m.perp, abi.PerpMarket, "skew"),
    r<readonly [bigint, bigint, bigint]>(m.perp, abi.PerpMarket, "funding_state"),
    r<bigint>(m.perp, abi.PerpMarket, "funding_rate"),
    r<readonly [bigint, bigint]>(m.perp, abi.PerpMarket, "open_interest"),
    r<{ math: Record<string, bigint>; order_max_age: bigint; order_keeper_fee: bigint; max_oi_long_usd: bigint; max_oi_short_usd: bigint; max_skew_to_pool_bps: bigint }>(m.perp, abi.PerpMarket, "params"),
    r<bigint>(m.perp, abi.PerpMarket, "pool_nav"),
    r<bigint>(m.perp, abi.PerpMarket, "max_age_open"),
    r<boolean>(m.perp, abi.PerpMarket, "lp_open"),
    r<bigint>(m.pool, abi.LiquidityPool, "totalAssets"),
    r<bigint>(m.pool, abi.LiquidityPool, "totalSupply"),
    r<bigint>(m.pool, abi.LiquidityPool, "balanceOf", [who]),
    r<bigint>(m.pool, abi.LiquidityPool, "unlock_at", [who]),
    r<bigint>(m.pool, abi.LiquidityPool, "deposit_lock_s"),
    r<bigint>(m.perp, abi.PerpMarket, "pool_pnl"),
    r<bigint>(m.perp, abi.PerpMarket, "required_nav"),
    r<bigint>(m.collateral, abi.MockStablecoin, "balanceOf", [who]),
    r<bigint>(m.synth, abi.SynthToken, "balanceOf", [who]),
    r<number>(m.collateral, abi.MockStablecoin, "decimals"),
    r<string>(m.collateral, abi.MockStablecoin, "symbol"),
    r<string>(m.synth, abi.SynthToken, "symbol"),
    r<bigint>(m.collateral, abi.MockStablecoin, "allowance", [who, m.vault]),
    r<bigint>(m.collateral, abi.MockStablecoin, "allowance", [who, m.perp]),
    r<bigint>(m.collateral, abi.MockStablecoin, "allowance", [who, m.pool]),
    r<bigint>(m.vault, abi.SynthVault, "rate_index"),
    r<Address>(m.vault, abi.SynthVault, "INSURANCE"),
  ]);
  const sp = m.stabilityPool;
  const [poolDecimals, poolValue, feeSynth, baseRate, synthSupply, spMine, spTotal, spWaiting, spAllow, spHeld] = await Promise.all([
    r<number>(m.pool, abi.LiquidityPool, "decimals"), // the asset's + the offset (ERC-4626)
    r<bigint>(m.pool, abi.LiquidityPool, "convertToAssets", [poolShares]),
    r<bigint>(m.synth, abi.SynthToken, "balanceOf", [insurance]), // the fund's fee synth, for sale
    r<bigint>(m.vault, abi.SynthVault, "redemption_base_rate"),
    r<bigint>(m.synth, abi.SynthToken, "totalSupply"),
    sp ? r<readonly [bigint, bigint, bigint]>(sp, abi.StabilityPool, "deposit_of", [who]) : null,
    sp ? r<bigint>(sp, abi.StabilityPool, "total_deposits") : 0n,
    sp ? r<bigint>(sp, abi.StabilityPool, "pending_deposits") : 0n,
    sp ? r<bigint>(m.synth, abi.SynthToken, "allowance", [who, sp]) : 0n,
    sp ? r<bigint>(m.collateral, abi.MockStablecoin, "balanceOf", [sp]) : 0n,
  ]);
  const book = m.orders ? await bookOf(pc, m.orders, who) : null;
  const answer = round ? round[1] : 0n;
  const upu = 10n ** BigInt(18 - Number(decimals)); // collateral units -> USD wad
  const rp = riskParams as unknown as Record<string, bigint>;
  return {
    now: Number(pending.timestamp), block: pending.number,
    oracle: {
      hasPrice, roundId: round?.[0] ?? 0n, answer, updatedAt: Number(round?.[3] ?? 0n),
      status: Number(status), suspect, multiplier: mult, decimals: Number(oracleDecimals),
      priceWad: basePriceWad(answer, Number(oracleDecimals), mult),
    },
    vault: {
      collateral: vpos[0], debt: vpos[1], maxMintable,
      params: [rp.mcr_bps, rp.liquidation_ratio_bps, rp.liquidation_penalty_bps, rp.protocol_share_bps,
        rp.min_debt_usd, rp.stability_fee_bps, rp.debt_ceiling],
      maxAge: Number(vaultMaxAge), paused: vaultPaused, rateIndex, feeSynth, baseRate, synthSupply,
    },
    sp: sp === null ? null : {
      active: spMine![0], waiting: spMine![1], gains: spMine![2], total: spTotal, pendingTotal: spWaiting,
      allowance: spAllow, collateralHeld: spHeld,
    },
    perp: {
      position: { size: ppos.size, entryPrice: ppos.entry_price, margin: ppos.margin, fundingEntry: ppos.funding_entry },
      order, skew, funding: { rate: fundingState[0], index: fundingState[1], updatedAt: fundingState[2] },
      fundingRate, oiLong: oi[0], oiShort: oi[1],
      math: Object.values(params.math) as bigint[], orderMaxAge: Number(params.order_max_age),
      keeperFee: params.order_keeper_fee, poolNav: poolNav * upu, maxAge: Number(perpMaxAge), lpOpen,
      poolPnl: poolPnl * upu, requiredNav: requiredNav * upu,
    },
    book,
    pool: { totalAssets: poolTotalAssets, supply: poolSupply, shares: poolShares, value: poolValue,
      decimals: Number(poolDecimals),
      unlockAt: Number(unlockAt), lockS: Number(lockS) },
    wallet: { cash, synth: synthBal, decimals: Number(decimals), cashSymbol, synthSymbol,
      allowVault, allowPerp, allowPool, upu },
  };
}

export interface ConditionalOrder {
  id: number; kind: number; size_delta: bigint; trigger_price: bigint; acceptable_price: bigint;
  expiry: bigint; keeper_fee: bigint; placed_round: bigint; placed_at: bigint;
  fillRound: bigint; // the round it executes at now (0: not triggered, or its window passed)
}

/** The account's conditional orders (`PerpOrders.orders`, live ones only, each with the round
 * it fills at now), the book's window and least keeper fee. */
async function bookOf(pc: PublicClient, book: Address, who: Address) {
  const r = <T,>(functionName: string, args: unknown[] = []) =>
    pc.readContract({ address: book, abi: abi.PerpOrders as never, functionName, args } as never) as Promise<T>;
  const [slots, window, minFee] = await Promise.all([
    r<readonly Omit<ConditionalOrder, "id" | "fillRound">[]>("orders", [who]),
    r<bigint>("WINDOW"),
    r<bigint>("MIN_KEEPER_FEE"),
  ]);
  const live = slots.map((o, id) => ({ ...o, id, kind: Number(o.kind) })).filter((o) => o.kind !== 0);
  const rounds = await Promise.all(live.map((o) => r<bigint>("fill_round", [who, BigInt(o.id)])));
  const orders: ConditionalOrder[] = live.map((o, i) => ({ ...o, fillRound: rounds[i] }));
  const free = slots.findIndex((o) => Number(o.kind) === 0);
  return { address: book, orders, window: Number(window), minFee, freeSlot: free < 0 ? null : free };
}

/** The vault's sorted list, riskiest first, each node with its key, collateral and debt
 * accrued to now: what the redemption hints are computed from (the CLI's
 * `synthequity.user.sorted_list`), in pages of `sorted_positions` and one batch of reads. */
export async function sortedEntries(pc: PublicClient, vault: Address): Promise<ListEntryRead[]> {
  const r = <T,>(functionName: string, args: unknown[]) =>
    pc.readContract({ address: vault, abi: abi.SynthVault as never, functionName, args } as never) as Promise<T>;
  const PAGE = 500n;
  const accounts: Address[] = [];
  let start: Address = "0x0000000000000000000000000000000000000000";
  for (;;) {
    const page = await r<readonly Address[]>("sorted_positions", [start, PAGE]);
    accounts.push(...page);
    if (BigInt(page.length) < PAGE) break;
    start = page[page.length - 1];
  }
  const [nodes, positions] = await Promise.all([
    Promise.all(accounts.map((a) => r<readonly [Address, bigint]>("sorted_node", [a]))),
    Promise.all(accounts.map((a) => r<readonly [bigint, bigint]>("position", [a]))),
  ]);
  return accounts.map((account, i) => ({ account, key: nodes[i][1], collateral: positions[i][0], debt: positions[i][1] }));
}
export interface ListEntryRead { account: Address; key: bigint; collateral: bigint; debt: bigint }
