// A test wallet for the browser: an EIP-1193 provider announced through EIP-6963 in the page,
// whose requests come here, where viem's local account signs with an anvil test key. Every
// signature is counted, so a test can tell that a refusal asked for none.
import { createWalletClient, http } from "viem";
import { mnemonicToAccount } from "viem/accounts";

/** anvil's test account `index` (its public mnemonic, as synthequity.dev.devchain starts it). */
export const testAccount = (index) =>
  mnemonicToAccount("test test test test test test test test test test test junk", { addressIndex: index });

const PAGE_SIDE = `(() => {
  const provider = {
    request: ({ method, params }) => window.__testWallet(method, params ?? []).then((r) => {
      if (r && r.error) { const e = new Error(r.error.message); e.code = r.error.code; throw e; }
      return r.result;
    }),
    on() {}, removeListener() {},
  };
  const info = { uuid: "5b0b3c7e-0000-4000-8000-000000000018", name: "Test Wallet",
    icon: "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'%3E%3Crect width='16' height='16' fill='%234c8dff'/%3E%3C/svg%3E",
    rdns: "dev.synthequity.testwallet" };
  const announce = () => window.dispatchEvent(new CustomEvent("eip6963:announceProvider", { detail: Object.freeze({ info, provider }) }));
  window.addEventListener("eip6963:requestProvider", announce);
  announce();
})();`;

/** `otherChain`: the wallet starts on chain 1 and does not know the deployment's chain (it
 * answers 4902 to the switch until the page adds it), as a fresh MetaMask would. */
export async function installWallet(page, { rpcUrl, chainId, index, otherChain = false }) {
  const account = testAccount(index);
  const wallet = createWalletClient({ account, transport: http(rpcUrl) });
  const state = { signatures: [], chainRequests: [], current: otherChain ? 1 : chainId, known: !otherChain };
  const forward = async (method, params) => {
    const r = await fetch(rpcUrl, { method: "POST", headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }) });
    return r.json();
  };
  await page.exposeFunction("__testWallet", async (method, params) => {
    switch (method) {
      case "eth_requestAccounts":
      case "eth_accounts":
        return { result: [account.address] };
      case "eth_chainId":
        return { result: `0x${state.current.toString(16)}` };
      case "wallet_switchEthereumChain":
        state.chainRequests.push(method);
        if (!state.known) return { error: { code: 4902, message: "Unrecognized chain ID" } };
        state.current = Number(params[0].chainId);
        return { result: null };
      case "wallet_addEthereumChain":
        state.chainRequests.push(method);
        state.known = true;
        state.current = Number(params[0].chainId);
        return { result: null };
      case "eth_sendTransaction": {
        const tx = params[0];
        state.signatures.push(tx);
        try {
          const hash = await wallet.sendTransaction({
            account, chain: null, to: tx.to, data: tx.data,
            value: tx.value ? BigInt(tx.value) : 0n, gas: tx.gas ? BigInt(tx.gas) : undefined,
          });
          return { result: hash };
        } catch (e) {
          return { error: { code: -32000, message: e.shortMessage ?? String(e) } };
        }
      }
      default:
        return forward(method, params);
    }
  });
  await page.addInitScript(PAGE_SIDE);
  return { account, state };
}
