"""`make dapp-build NETWORK=<network> RPC_URL=<url>`: the dapp as a static folder for any
static host, for a deployment recorded in deployments/<network>.json (written by `ape run
deploy`). Writes `dapp/dist/config.json` next to the built page: the chain, a public RPC URL
for read-only mode, the addresses, and whether a faucet button is shown (only when the
collateral is the mock stablecoin this project deployed)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from synthequity import deployments


def config(network: str, rpc_url: str, root: Path | None = None) -> dict[str, object]:
    path = deployments.path_for(network, root)
    if not path.exists():
        raise SystemExit(f"refused: {path} missing: deploy first (`ape run deploy --network ...`)")
    record = deployments.load(network, root)
    if not record.get("markets"):
        raise SystemExit(f"refused: {path} records no market")
    collateral = record.get("core", {}).get("collateral", {})
    return {
        "rpcUrl": rpc_url,
        "chainId": record["chain_id"],
        "chainName": f"synthequity {network}",
        "deployment": record,
        "devApi": False,
        # a given stablecoin is recorded without a block; the mock is deployed (and recorded
        # with its block) by `ape run deploy` itself
        "faucet": collateral.get("block") is not None,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--network", required=True, help="a deployments/ record key, e.g. ethereum-sepolia"
    )
    ap.add_argument("--rpc-url", required=True, help="public RPC for read-only mode")
    ap.add_argument("--dist", type=Path, default=Path("dapp/dist"))
    args = ap.parse_args(argv)
    if not (args.dist / "index.html").exists():
        raise SystemExit(f"refused: {args.dist}/index.html missing: run `npm run build` in dapp/")
    cfg = config(args.network, args.rpc_url)
    (args.dist / "config.json").write_text(json.dumps(cfg, indent=1))
    print(f"{args.dist}/: static dapp for {args.network} (chain {cfg['chainId']}); host the folder")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
