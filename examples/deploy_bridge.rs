//! Deploy the bridge contract (`meridian_adapters::ethereum::bridge`) to an Ethereum node and
//! print the chain file that connects the hub to it.
//! Usage: `deploy_bridge [RPC_URL] [CHAIN_ID]` (default `http://127.0.0.1:8545`, `eth-ganache`);
//! the bridge is deployed from the node's first account, which becomes its owner and the
//! account the hub sends releases from.

use meridian_adapters::ethereum::bridge;
use meridian_adapters::ethereum::rpc::{hex0x, Rpc};
use serde_json::json;
use std::time::Duration;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .unwrap_or_else(|| "http://127.0.0.1:8545".to_string());
    let id = args.next().unwrap_or_else(|| "eth-ganache".to_string());
    let rpc = Rpc::new(&url, Duration::from_secs(30));
    let accounts = rpc.call("eth_accounts", json!([]))?;
    let owner = accounts
        .get(0)
        .and_then(|a| a.as_str())
        .and_then(|a| hex::decode(a.trim_start_matches("0x")).ok())
        .and_then(|b| <[u8; 20]>::try_from(b).ok())
        .ok_or_else(|| anyhow::anyhow!("the node holds no unlocked account"))?;
    let chain_id = rpc.chain_id()?;
    let address = bridge::deploy(&rpc, &owner, Duration::from_secs(60))?;
    println!(
        "id = \"{id}\"\nfamily = \"ethereum\"\nhome_city = \"california\"\nrpc_url = \"{url}\"\n\
         bridge = \"{}\"\nsender = \"{}\"\neip155_chain_id = {chain_id}\nconfirmations = 2",
        hex0x(&address),
        hex0x(&owner)
    );
    Ok(())
}
