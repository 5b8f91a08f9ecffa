//! A real Ethereum node behind JSON-RPC, as the hub uses it in [`super::Finality::Node`] mode:
//! [`RpcNode`] is the adapter's [`EthereumNode`] (releases sent as transactions from an
//! unlocked account, `applied` asked of the bridge, head and canonical hashes for finality);
//! [`RpcChain`] is the chain as `meridian serve` drives it ([`DemoChain`]: a real `lock`
//! transaction, mined confirmations on a dev node, and the lock's evidence rebuilt from RPC
//! data).

use super::abi;
use super::clique::Address;
use super::receipt::Log;
use super::rpc::{
    encode_rpc_receipt, field_bytes, field_fixed, field_u64, header_rlp, hex0x, qty, rpc_logs, Rpc,
    RpcError,
};
use super::{
    encode_header_list, encode_proof_nodes, locator, EthereumAdapter, EthereumConfig, EthereumNode,
};
use crate::demo::DemoChain;
use crate::{AdapterError, ChainAdapter, Delivery, Evidence, Family, Receipt, Settlement};
use meridian_proofs::eth::{self, Trie};
use meridian_proofs::hash::Hash32;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

/// Gas sent with a `release` (it uses well under 100k).
const RELEASE_GAS: u64 = 0x10_0000;
/// Gas sent with a `lock`.
const LOCK_GAS: u64 = 0x10_0000;

/// The adapter's node: one JSON-RPC node, the bridge on it, and the account releases come from.
#[derive(Debug, Clone)]
pub struct RpcNode {
    rpc: Arc<Rpc>,
    bridge: Address,
    sender: Address,
    /// Whether the node mines on request (`evm_mine`: ganache, hardhat, anvil); learnt at the
    /// first ask and shared by every client of the same chain.
    dev: Arc<OnceLock<bool>>,
    /// The release transaction sent for each message id not final yet, so that asking again
    /// while it waits for a block does not send it again (shared by every client of the same
    /// chain: an adapter rebuilt after a panic knows them too).
    sent: Arc<Mutex<HashMap<[u8; 32], SentTx>>>,
}

/// A release transaction sent and not final yet.
#[derive(Debug, Clone)]
struct SentTx {
    /// Its hash.
    hash: String,
    /// The node did not know it when last asked: sent again if it still does not at the next
    /// ask (a load-balanced endpoint, or a node putting a reorganised block's transactions
    /// back in its pool, may not know it for a moment).
    missed: bool,
}

/// Where a release sent earlier stands on the node.
enum Sent {
    /// In the node's pool or in a block not applied as of the latest (a reorganisation in
    /// progress): wait.
    Waiting(String),
    /// Mined and reverted: the bridge refused it.
    Reverted(String),
    /// The node no longer knows the transaction (dropped from its pool, or its block
    /// reorganised away and not taken back): send again.
    Gone,
}

impl RpcNode {
    /// A node client over `rpc`; releases go to `bridge` from `sender` (unlocked on the node,
    /// the bridge's owner).
    pub fn new(rpc: Arc<Rpc>, bridge: Address, sender: Address) -> Self {
        RpcNode {
            rpc,
            bridge,
            sender,
            dev: Arc::new(OnceLock::new()),
            sent: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    fn sent_tx(&self, message_id: &[u8; 32]) -> Option<SentTx> {
        let sent = self.sent.lock().unwrap_or_else(PoisonError::into_inner);
        sent.get(message_id).cloned()
    }

    fn set_sent(&self, message_id: &[u8; 32], tx: Option<SentTx>) {
        let mut sent = self.sent.lock().unwrap_or_else(PoisonError::into_inner);
        match tx {
            Some(tx) => sent.insert(*message_id, tx),
            None => sent.remove(message_id),
        };
    }

    /// Where the release transaction `tx` stands on the node.
    fn sent_state(&self, tx: &str) -> Result<Sent, AdapterError> {
        let t = self.rpc.call("eth_getTransactionByHash", json!([tx]))?;
        if t.is_null() {
            return Ok(Sent::Gone);
        }
        if t.get("blockNumber").is_none_or(Value::is_null) {
            return Ok(Sent::Waiting(format!("{tx} is in the node's pool")));
        }
        match self.rpc.receipt(tx)? {
            Some(r) if field_u64(&r, "status")? != 1 => Ok(Sent::Reverted(tx.to_string())),
            _ => Ok(Sent::Waiting(format!(
                "{tx} is in a block not applied as of the latest"
            ))),
        }
    }

    /// On a dev node, mine until the head is at least `number`; on any other node nothing
    /// (its blocks come when they come). Whether it is one is asked once, by mining.
    pub fn mine_on_dev(&self, number: u64) -> Result<(), AdapterError> {
        while self.dev.get() != Some(&false) && self.rpc.block_number()? < number {
            match self.rpc.call("evm_mine", json!([])) {
                Ok(_) => {
                    let _ = self.dev.set(true);
                }
                Err(RpcError::Node { .. }) => {
                    let _ = self.dev.set(false);
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// The release of `message_id`, which the bridge applied as of the latest block: its
    /// receipt once the block `confirmations` below the head has it too (on a dev node the
    /// confirmations are mined first), else [`AdapterError::Pending`] (a reorganisation
    /// could still drop it; the hub asks again).
    fn final_release(
        &self,
        message_id: &[u8; 32],
        confirmations: u64,
        duplicate: bool,
    ) -> Result<Receipt, AdapterError> {
        let block = self.release_block(message_id, "latest")?;
        self.mine_on_dev(block.saturating_add(confirmations))?;
        let head = self.rpc.block_number()?;
        if let Some(number) = head.checked_sub(confirmations) {
            let tag = qty(number);
            if self.applied_in(message_id, &tag)? {
                return Ok(Receipt {
                    duplicate,
                    ..self.release_receipt(message_id, &tag)?
                });
            }
        }
        Err(AdapterError::Pending(format!(
            "release {} is in block {block}, final once the head reaches {} (head {head})",
            hex0x(message_id),
            block.saturating_add(confirmations)
        )))
    }

    /// Why the bridge refuses `d`: expired (the node's latest block is past the deadline) or
    /// something else the contract refuses (not the owner, …).
    fn refusal(&self, d: &Delivery, detail: &str) -> AdapterError {
        if !d.refund {
            let now_ms = self
                .rpc
                .block_number()
                .and_then(|n| self.rpc.block(n, false))
                .ok()
                .flatten()
                .and_then(|b| field_u64(&b, "timestamp").ok())
                .map(|t| t.saturating_mul(1000));
            if let Some(now_ms) = now_ms.filter(|now| *now > d.deadline_ms) {
                return AdapterError::Expired {
                    deadline_ms: d.deadline_ms,
                    now_ms,
                };
            }
        }
        AdapterError::Unavailable(format!(
            "the bridge {} refused release {}: {detail}",
            hex0x(&self.bridge),
            hex0x(&d.message_id)
        ))
    }

    /// [`RpcNode::final_release`], forgetting the transaction sent once it is final.
    fn final_release_of(
        &self,
        message_id: &[u8; 32],
        confirmations: u64,
        duplicate: bool,
    ) -> Result<Receipt, AdapterError> {
        let r = self.final_release(message_id, confirmations, duplicate);
        if r.is_ok() {
            self.set_sent(message_id, None);
        }
        r
    }

    /// The release `tx` of `d` reverted: applied in between by another client of the same
    /// bridge (then a duplicate, final or pending as any), else refused.
    fn reverted(
        &self,
        d: &Delivery,
        tx: &str,
        confirmations: u64,
    ) -> Result<Receipt, AdapterError> {
        self.set_sent(&d.message_id, None);
        if self.applied_in(&d.message_id, "latest")? {
            return self.final_release(&d.message_id, confirmations, true);
        }
        Err(self.refusal(d, &format!("transaction {tx} reverted")))
    }
}

impl EthereumNode for RpcNode {
    /// Apply-once: an id the bridge already applied is answered with the release's
    /// transaction (a duplicate unless this client sent it); otherwise the call is simulated
    /// (`eth_call`, a revert is reported without spending gas) and sent. Nothing here waits
    /// for a block: a release not yet mined answers [`AdapterError::Pending`] and, asked
    /// again, is looked up by its transaction (sent again only if the node dropped it). The
    /// receipt is given only once the release is final (`confirmations` blocks on top; mined
    /// on a dev node): before that `Pending`, so that the hub never records a delivery a
    /// reorganisation could drop (when it asks again, a release that was dropped is sent
    /// again, or refused past its deadline).
    fn submit(
        &self,
        d: &Delivery,
        calldata: &[u8],
        confirmations: u64,
    ) -> Result<Receipt, AdapterError> {
        let id = &d.message_id;
        let ours = self.sent_tx(id);
        if self.applied_in(id, "latest")? {
            return self.final_release_of(id, confirmations, ours.is_none());
        }
        if let Some(tx) = ours {
            match self.sent_state(&tx.hash)? {
                Sent::Waiting(why) => {
                    if tx.missed {
                        self.set_sent(
                            id,
                            Some(SentTx {
                                missed: false,
                                ..tx
                            }),
                        );
                    }
                    return Err(AdapterError::Pending(format!(
                        "release {}: {why}",
                        hex0x(id)
                    )));
                }
                Sent::Reverted(hash) => return self.reverted(d, &hash, confirmations),
                Sent::Gone if !tx.missed => {
                    let why = format!(
                        "release {}: the node does not know {}; sent again if it still does not \
                         when asked next",
                        hex0x(id),
                        tx.hash
                    );
                    self.set_sent(id, Some(SentTx { missed: true, ..tx }));
                    return Err(AdapterError::Pending(why));
                }
                Sent::Gone => self.set_sent(id, None),
            }
        }
        match self.rpc.eth_call(&self.sender, &self.bridge, calldata) {
            Ok(_) => {}
            Err(RpcError::Node { message, .. }) => return Err(self.refusal(d, &message)),
            Err(e) => return Err(e.into()),
        }
        let tx = self.rpc.send_transaction(json!({
            "from": hex0x(&self.sender), "to": hex0x(&self.bridge),
            "data": hex0x(calldata), "gas": qty(RELEASE_GAS)
        }))?;
        self.set_sent(
            id,
            Some(SentTx {
                hash: tx.clone(),
                missed: false,
            }),
        );
        // A node that mines each transaction as it comes (a dev node) has its receipt already.
        match self.rpc.receipt(&tx)? {
            None => Err(AdapterError::Pending(format!(
                "release {} sent in {tx}, not in a block yet",
                hex0x(id)
            ))),
            Some(r) if field_u64(&r, "status")? != 1 => self.reverted(d, &tx, confirmations),
            Some(_) => self.final_release_of(id, confirmations, false),
        }
    }

    /// `applied(id)` on the bridge as of the latest block (final or not); if so, the
    /// releasing transaction.
    fn applied(&self, message_id: &[u8; 32]) -> Result<Option<Receipt>, AdapterError> {
        if !self.applied_in(message_id, "latest")? {
            return Ok(None);
        }
        self.release_receipt(message_id, "latest").map(Some)
    }

    fn settlement(
        &self,
        message_id: &[u8; 32],
        deadline_ms: u64,
        confirmations: u64,
    ) -> Result<Settlement, AdapterError> {
        let head = self.rpc.block_number()?;
        let Some(number) = head.checked_sub(confirmations) else {
            return Ok(Settlement::Open);
        };
        let block = self.rpc.block(number, false)?.ok_or_else(|| {
            AdapterError::Unavailable(format!("the node has no block {number} below its head"))
        })?;
        let time_ms = field_u64(&block, "timestamp")?.saturating_mul(1000);
        if time_ms <= deadline_ms {
            return Ok(Settlement::Open);
        }
        let tag = qty(number);
        // Settled either way: a release sent for it is no longer looked after.
        let settled = if self.applied_in(message_id, &tag)? {
            Settlement::Applied(self.release_receipt(message_id, &tag)?)
        } else {
            Settlement::Never
        };
        self.set_sent(message_id, None);
        Ok(settled)
    }

    fn head(&self) -> Result<u64, AdapterError> {
        Ok(self.rpc.block_number()?)
    }

    fn canonical_hash(&self, number: u64) -> Result<Option<Hash32>, AdapterError> {
        match self.rpc.block(number, false)? {
            Some(b) => Ok(Some(field_fixed(&b, "hash")?)),
            None => Ok(None),
        }
    }
}

impl RpcNode {
    /// `applied(id)` on the bridge as of `block` (a quantity or `latest`). A past block before
    /// the bridge was deployed answers nothing: not applied there. (Nothing at `latest` means
    /// the configured address is not the bridge: an error.)
    fn applied_in(&self, message_id: &[u8; 32], block: &str) -> Result<bool, AdapterError> {
        let out = self.rpc.eth_call_in(
            &self.sender,
            &self.bridge,
            &abi::applied_call(message_id),
            block,
        )?;
        match out.as_slice() {
            [] if block != "latest" => Ok(false),
            [zeros @ .., last] if out.len() == 32 && zeros.iter().all(|b| *b == 0) => {
                Ok(*last == 1)
            }
            _ => Err(AdapterError::Unavailable(format!(
                "applied() answered {} (is {} the bridge?)",
                hex0x(&out),
                hex0x(&self.bridge)
            ))),
        }
    }

    /// The block the bridge stored for `message_id` as of `block` (a quantity or `latest`):
    /// where its release is.
    fn release_block(&self, message_id: &[u8; 32], block: &str) -> Result<u64, AdapterError> {
        let slot = self.rpc.call(
            "eth_getStorageAt",
            json!([hex0x(&self.bridge), hex0x(message_id), block]),
        )?;
        Ok(field_u64(&json!({ "n": slot }), "n")?)
    }

    /// The transaction that released `message_id` (which the bridge applied as of `at`),
    /// found through the block number the bridge stored for the id and the `Release` log of
    /// that block.
    fn release_receipt(&self, message_id: &[u8; 32], at: &str) -> Result<Receipt, AdapterError> {
        let block = self.release_block(message_id, at)?;
        let logs = self.rpc.call(
            "eth_getLogs",
            json!([{"address": hex0x(&self.bridge), "fromBlock": qty(block), "toBlock": qty(block),
                    "topics": [hex0x(&abi::release_topic()), hex0x(message_id)]}]),
        )?;
        let tx = logs
            .as_array()
            .and_then(|l| l.first())
            .ok_or_else(|| {
                AdapterError::Unavailable(format!(
                    "{} applied in block {block} without a Release log",
                    hex0x(message_id)
                ))
            })
            .and_then(|l| Ok(field_bytes(l, "transactionHash")?))?;
        Ok(Receipt {
            reference: tx,
            duplicate: false,
        })
    }
}

/// What the hub needs to know about an RPC-backed Ethereum chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpcChainConfig {
    /// Meridian's id of the chain.
    pub chain_id: String,
    /// The node's JSON-RPC URL.
    pub rpc_url: String,
    /// The EIP-155 chain id the bridge reports in `Lock` events.
    pub eip155_chain_id: u64,
    /// The bridge contract.
    pub bridge: Address,
    /// The account releases (and dev locks) are sent from, unlocked on the node.
    pub sender: Address,
    /// Blocks the node must have on top of an event's block.
    pub confirmations: u64,
    /// The genesis hash; `None`: the node's block 0.
    pub genesis_hash: Option<Hash32>,
    /// Timeout of each JSON-RPC call, and of waiting for a transaction or blocks.
    pub timeout: Duration,
}

/// An RPC-backed Ethereum chain as `meridian serve` drives it.
#[derive(Debug)]
pub struct RpcChain {
    config: RpcChainConfig,
    rpc: Arc<Rpc>,
    node: RpcNode,
    head_rpc: Rpc,
    genesis: OnceLock<Hash32>,
}

fn unavailable(what: impl Into<String>) -> AdapterError {
    AdapterError::Unavailable(what.into())
}

impl RpcChain {
    /// A chain over the node at `config.rpc_url` (nothing is asked of the node yet).
    pub fn new(config: RpcChainConfig) -> Self {
        let rpc = Arc::new(Rpc::new(&config.rpc_url, config.timeout));
        RpcChain {
            node: RpcNode::new(rpc.clone(), config.bridge, config.sender),
            rpc,
            head_rpc: Rpc::new(&config.rpc_url, config.timeout.min(Duration::from_secs(1))),
            genesis: OnceLock::new(),
            config,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &RpcChainConfig {
        &self.config
    }

    /// The JSON-RPC client.
    pub fn rpc(&self) -> &Rpc {
        &self.rpc
    }

    /// The adapter's node client.
    pub fn node(&self) -> RpcNode {
        self.node.clone()
    }

    /// The trusted genesis hash: configured, else the node's block 0 (asked once).
    pub fn genesis_hash(&self) -> Result<Hash32, AdapterError> {
        if let Some(g) = self
            .config
            .genesis_hash
            .or_else(|| self.genesis.get().copied())
        {
            return Ok(g);
        }
        let b = self
            .rpc
            .block(0, false)?
            .ok_or_else(|| unavailable("the node has no block 0"))?;
        let g = eth::parse_header(&header_rlp(&b)?)
            .map_err(|e| unavailable(format!("genesis header: {e}")))?
            .hash;
        Ok(*self.genesis.get_or_init(|| g))
    }

    /// A node-finality adapter of this chain, delivering through the node.
    pub fn ethereum_adapter(&self) -> Result<EthereumAdapter, AdapterError> {
        let config = EthereumConfig::node(
            &self.config.chain_id,
            self.config.eip155_chain_id,
            self.genesis_hash()?,
            self.config.bridge,
            self.config.confirmations,
        );
        Ok(EthereumAdapter::new(config, Some(Box::new(self.node()))))
    }

    /// Send `lock(destination, recipient, asset, amount)` to the bridge from `from` and wait
    /// for it to be mined: its receipt object.
    pub fn send_lock(
        &self,
        from: &Address,
        destination: &str,
        recipient: &str,
        asset: &str,
        amount: u128,
    ) -> Result<Value, AdapterError> {
        let tx = self.rpc.send_transaction(json!({
            "from": hex0x(from), "to": hex0x(&self.config.bridge),
            "data": hex0x(&abi::lock_call(destination, recipient, asset, amount)),
            "gas": qty(LOCK_GAS)
        }))?;
        let receipt = self.rpc.wait_receipt(&tx, self.config.timeout)?;
        if field_u64(&receipt, "status")? != 1 {
            return Err(unavailable(format!("lock transaction {tx} reverted")));
        }
        Ok(receipt)
    }

    /// Wait until the node's head is at least `number`; on a dev node (one that answers
    /// `evm_mine`) mine the blocks instead of waiting.
    pub fn mine_until(&self, number: u64) -> Result<(), AdapterError> {
        let deadline = Instant::now() + self.config.timeout;
        self.node.mine_on_dev(number)?;
        while self.rpc.block_number()? < number {
            if Instant::now() >= deadline {
                return Err(unavailable(format!(
                    "the node did not reach block {number} within {:?}",
                    self.config.timeout
                )));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        Ok(())
    }

    /// The evidence of the first bridge `Lock` log in the transaction of `receipt`: the block's
    /// header followed by as many of its children as the node has (up to `confirmations`), the
    /// receipts-trie proof built from every receipt of the block, the log, the locator.
    pub fn evidence(&self, receipt: &Value) -> Result<Evidence, AdapterError> {
        let number = field_u64(receipt, "blockNumber")?;
        let tx_index = field_u64(receipt, "transactionIndex")?;
        let logs = rpc_logs(receipt)?;
        let log_index = logs
            .iter()
            .position(|l| l.address == self.config.bridge && l.topics == [abi::lock_topic()])
            .ok_or_else(|| unavailable("the transaction emitted no bridge Lock log"))?;
        let event = logs
            .get(log_index)
            .map(Log::encode)
            .ok_or_else(|| unavailable("no log"))?;

        let head = self.rpc.block_number()?;
        let last = number.saturating_add(self.config.confirmations).min(head);
        let mut headers = Vec::new();
        let mut block = Value::Null;
        for n in number..=last {
            let b = self
                .rpc
                .block(n, false)?
                .ok_or_else(|| unavailable(format!("the node has no block {n}")))?;
            headers.push(header_rlp(&b)?);
            if n == number {
                block = b;
            }
        }
        if field_fixed::<32>(&block, "hash")? != field_fixed::<32>(receipt, "blockHash")? {
            return Err(unavailable("the lock's block was reorganised away"));
        }
        let receipts_root: Hash32 = field_fixed(&block, "receiptsRoot")?;
        let txs = block
            .get("transactions")
            .and_then(Value::as_array)
            .ok_or_else(|| unavailable("block without transactions"))?;
        let mut trie = Trie::new();
        for (i, tx) in txs.iter().enumerate() {
            let hash = tx
                .as_str()
                .ok_or_else(|| unavailable("transaction hash is not a string"))?;
            let r = self
                .rpc
                .receipt(hash)?
                .ok_or_else(|| unavailable(format!("no receipt for {hash}")))?;
            trie.insert(&rlp::encode(&(i as u64)), &encode_rpc_receipt(&r)?.1);
        }
        if trie.root() != receipts_root {
            return Err(unavailable(format!(
                "the node's receipts of block {number} do not build its receiptsRoot"
            )));
        }
        let nodes = trie.proof(&rlp::encode(&tx_index));
        Ok(Evidence {
            locator: locator(number, tx_index, log_index as u64),
            header: encode_header_list(&headers),
            proof: encode_proof_nodes(&nodes),
            event,
        })
    }
}

/// `0x` + 40 hex digits as an address.
pub fn parse_address(s: &str) -> Option<Address> {
    let digits = s.strip_prefix("0x")?;
    if digits.len() != 40 {
        return None;
    }
    hex::decode(digits).ok()?.as_slice().try_into().ok()
}

impl DemoChain for RpcChain {
    fn chain_id(&self) -> String {
        self.config.chain_id.clone()
    }

    fn family(&self) -> Family {
        Family::Ethereum
    }

    fn adapter(&self) -> Result<Box<dyn ChainAdapter>, AdapterError> {
        Ok(Box::new(self.ethereum_adapter()?))
    }

    /// A real `lock` transaction (from `sender` if it is an address the node holds, else from
    /// the configured account), `confirmations` blocks on top (mined on a dev node, awaited
    /// otherwise), and its evidence.
    fn lock(
        &self,
        destination: &str,
        sender: &str,
        recipient: &str,
        asset: &str,
        amount: u128,
    ) -> Result<Evidence, AdapterError> {
        let from = parse_address(sender).unwrap_or(self.config.sender);
        let receipt = self.send_lock(&from, destination, recipient, asset, amount)?;
        let number = field_u64(&receipt, "blockNumber")?;
        self.mine_until(number.saturating_add(self.config.confirmations))?;
        self.evidence(&receipt)
    }

    /// The node's head; an error when it does not answer within a second (status pages ask
    /// often).
    fn head(&self) -> Result<u64, AdapterError> {
        self.head_rpc
            .block_number()
            .map_err(|e| AdapterError::Unavailable(e.to_string()))
    }
}
