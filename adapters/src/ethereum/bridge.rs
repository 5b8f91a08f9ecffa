//! The bridge contract, hand-assembled EVM bytecode (there is no Solidity compiler here), and a
//! helper that deploys it through a node's JSON-RPC interface.
//!
//! What it does, in Solidity terms (selectors and event layout: [`super::abi`]):
//!
//! ```solidity
//! contract Bridge {
//!     uint256 nonce;                       // slot 0
//!     address owner;                       // slot 1: the deployer, the only releaser
//!     // applied[id] lives at slot `id` itself: the block number of the release (0: not applied).
//!     // Message ids are keccak hashes, so they never hit slots 0 and 1.
//!     constructor() { owner = msg.sender; }
//!     function lock(string destination, string recipient, string asset, uint256 amount) {
//!         require(amount < 2**128);            // the adapter decodes 128-bit amounts
//!         emit Lock(block.chainid, ++nonce, destination, msg.sender, recipient, asset, amount);
//!     }
//!     function release(bytes32 id, bool refund, string account, string asset, uint256 amount,
//!                      uint256 refchainHeight, uint256 deadlineMs) {
//!         require(msg.sender == owner);
//!         require(applied[id] == 0);                                  // apply once
//!         require(refund || block.timestamp * 1000 <= deadlineMs);    // no late release
//!         applied[id] = block.number;
//!         emit Release(id, refund, amount);
//!     }
//!     function applied(bytes32 id) view returns (bool) { return applied[id] != 0; }
//! }
//! ```
//!
//! Any other selector, and any call with value, reverts. `Lock`'s data is written in the
//! canonical ABI encoding whatever the caller's calldata padding: each string is copied into
//! fresh (zeroed) memory, length word and bytes only, and the tail pointer is rounded up to a
//! whole word, so [`super::abi::LockData::decode`] accepts exactly what the contract emits.
//! `block.chainid` comes from `CHAINID`, never from the caller.

use super::abi;
use super::clique::Address;
use super::rpc::{field_fixed, hex0x, Rpc};
use crate::AdapterError;
use serde_json::json;
use std::time::Duration;

// The opcodes used.
const STOP: u8 = 0x00;
const ADD: u8 = 0x01;
const MUL: u8 = 0x02;
const GT: u8 = 0x11;
const EQ: u8 = 0x14;
const ISZERO: u8 = 0x15;
const AND: u8 = 0x16;
const SHL: u8 = 0x1b;
const SHR: u8 = 0x1c;
const CALLER: u8 = 0x33;
const CALLVALUE: u8 = 0x34;
const CALLDATALOAD: u8 = 0x35;
const CALLDATACOPY: u8 = 0x37;
const CODECOPY: u8 = 0x39;
const TIMESTAMP: u8 = 0x42;
const NUMBER: u8 = 0x43;
const CHAINID: u8 = 0x46;
const POP: u8 = 0x50;
const MSTORE: u8 = 0x52;
const SLOAD: u8 = 0x54;
const SSTORE: u8 = 0x55;
const JUMPI: u8 = 0x57;
const JUMPDEST: u8 = 0x5b;
const PUSH1: u8 = 0x60;
const PUSH2: u8 = 0x61;
const DUP1: u8 = 0x80;
const DUP2: u8 = 0x81;
const DUP3: u8 = 0x82;
const DUP5: u8 = 0x84;
const SWAP1: u8 = 0x90;
const LOG1: u8 = 0xa1;
const LOG2: u8 = 0xa2;
const RETURN: u8 = 0xf3;
const REVERT: u8 = 0xfd;

/// A two-pass assembler: bytes, jump targets (`JUMPDEST`s with a name) and `PUSH2 target`.
#[derive(Default)]
struct Asm {
    items: Vec<Item>,
}

enum Item {
    Bytes(Vec<u8>),
    Target(&'static str),
    PushTarget(&'static str),
}

impl Asm {
    /// Raw opcodes.
    fn op(&mut self, ops: &[u8]) -> &mut Self {
        self.items.push(Item::Bytes(ops.to_vec()));
        self
    }
    /// `PUSH1 b`.
    fn push1(&mut self, b: u8) -> &mut Self {
        self.op(&[PUSH1, b])
    }
    /// `PUSHn bytes` (1 ≤ n ≤ 32).
    fn push(&mut self, bytes: &[u8]) -> &mut Self {
        let n = u8::try_from(bytes.len()).unwrap_or(32).clamp(1, 32);
        self.items
            .push(Item::Bytes([&[PUSH1 + n - 1], bytes].concat()));
        self
    }
    /// `JUMPDEST`, named.
    fn target(&mut self, name: &'static str) -> &mut Self {
        self.items.push(Item::Target(name));
        self
    }
    /// `PUSH2 <offset of the named JUMPDEST>`.
    fn push_target(&mut self, name: &'static str) -> &mut Self {
        self.items.push(Item::PushTarget(name));
        self
    }
    /// The code, every target resolved; `None` names a target pushed but never placed.
    fn build(&self) -> Result<Vec<u8>, &'static str> {
        let mut at = std::collections::HashMap::new();
        let mut pc = 0usize;
        for i in &self.items {
            match i {
                Item::Bytes(b) => pc += b.len(),
                Item::Target(n) => {
                    at.insert(*n, pc);
                    pc += 1;
                }
                Item::PushTarget(_) => pc += 3,
            }
        }
        let mut code = Vec::with_capacity(pc);
        for i in &self.items {
            match i {
                Item::Bytes(b) => code.extend_from_slice(b),
                Item::Target(_) => code.push(JUMPDEST),
                Item::PushTarget(n) => {
                    let to = at.get(n).and_then(|p| u16::try_from(*p).ok()).ok_or(*n)?;
                    code.push(PUSH2);
                    code.extend_from_slice(&to.to_be_bytes());
                }
            }
        }
        Ok(code)
    }
}

/// Copy the ABI string whose head word is at calldata `arg` into memory at the tail pointer
/// `p` (on the stack), store `p` as the string's offset in the event head at memory `slot`,
/// and leave the new tail pointer. Stack: `p` → `p'`.
fn copy_string(a: &mut Asm, arg: u8, slot: u8) {
    a.op(&[DUP1]).push1(slot).op(&[MSTORE]); // head[slot] = p                       [p]
    a.push1(arg).op(&[CALLDATALOAD]); //        o = the string's offset               [p o]
    a.push1(4).op(&[ADD]); //                   s = 4 + o: its length word            [p s]
    a.op(&[DUP1, CALLDATALOAD]); //             len                                   [p s len]
    a.op(&[DUP1]).push1(32).op(&[SHR]); //      len ≥ 2^32 …
    a.push_target("revert").op(&[JUMPI]); //    … reverts (no pointer wrap-around)    [p s len]
    a.push1(32).op(&[ADD]); //                  n = 32 + len                          [p s n]
    a.op(&[DUP1, DUP3, DUP5, CALLDATACOPY]); // memory[p..p+n] = calldata[s..s+n]     [p s n]
    a.op(&[SWAP1, POP]); //                                                           [p n]
    a.push1(31)
        .op(&[ADD])
        .push1(5)
        .op(&[SHR])
        .push1(5)
        .op(&[SHL]); // round n up     [p n']
    a.op(&[ADD]); //                            p' = p + n'                           [p']
}

fn assemble_runtime() -> Result<Vec<u8>, &'static str> {
    let mut a = Asm::default();
    // Dispatch: no value; the selector is the first 4 calldata bytes.
    a.op(&[CALLVALUE]).push_target("revert").op(&[JUMPI]); // value sent → revert
    a.push1(0).op(&[CALLDATALOAD]).push1(0xe0).op(&[SHR]); // selector             [sel]
    for (sel, to) in [
        (abi::lock_selector(), "lock"),
        (abi::release_selector(), "release"),
        (abi::applied_selector(), "applied"),
    ] {
        a.op(&[DUP1])
            .push(&sel)
            .op(&[EQ])
            .push_target(to)
            .op(&[JUMPI]);
    }
    a.target("revert").push1(0).op(&[DUP1, REVERT]); // revert(0, 0)

    // lock(string destination, string recipient, string asset, uint256 amount).
    // Memory: the event's 7-word head at 0x00..0xe0, the strings from 0xe0.
    a.target("lock").op(&[POP]); //                                                  []
    a.push1(0x64).op(&[CALLDATALOAD]); //       amount (4th argument)                 [amount]
    a.op(&[DUP1]).push1(0x80).op(&[SHR]); //    amount ≥ 2^128 …
    a.push_target("revert").op(&[JUMPI]); //    … reverts                            [amount]
    a.push1(0xc0).op(&[MSTORE]); //             head[6] = amount                      []
    a.op(&[CHAINID]).push1(0x00).op(&[MSTORE]); // head[0] = block.chainid
    a.push1(0).op(&[SLOAD]).push1(1).op(&[ADD]); // nonce + 1                         [n]
    a.op(&[DUP1]).push1(0).op(&[SSTORE]); //    nonce = n                             [n]
    a.push1(0x20).op(&[MSTORE]); //             head[1] = n                           []
    a.op(&[CALLER]).push1(0x60).op(&[MSTORE]); // head[3] = msg.sender
    a.push1(0xe0); //                           tail pointer p                        [p]
    copy_string(&mut a, 0x04, 0x40); //         destination → head[2]
    copy_string(&mut a, 0x24, 0x80); //         recipient   → head[4]
    copy_string(&mut a, 0x44, 0xa0); //         asset       → head[5]                 [end]
    a.push(&abi::lock_topic()).op(&[SWAP1]); //                                       [topic end]
    a.push1(0).op(&[LOG1]); //                  log1(0, end, topic)
    a.op(&[STOP]);

    // release(bytes32 id, bool refund, string account, string asset, uint256 amount,
    //         uint256 refchainHeight, uint256 deadlineMs).
    a.target("release").op(&[POP]); //                                               []
    a.op(&[CALLER]).push1(1).op(&[SLOAD, EQ, ISZERO]); // msg.sender != owner …
    a.push_target("revert").op(&[JUMPI]); //    … reverts
    a.push1(0x04).op(&[CALLDATALOAD]); //       id                                    [id]
    a.op(&[DUP1, SLOAD]).push_target("revert").op(&[JUMPI]); // applied → revert      [id]
    a.push1(0x24).op(&[CALLDATALOAD, ISZERO]); // !refund                             [id r]
    a.push1(0xc4).op(&[CALLDATALOAD]); //       deadlineMs                            [id r d]
    a.push(&1000u16.to_be_bytes()).op(&[TIMESTAMP, MUL]); // now = timestamp·1000     [id r d now]
    a.op(&[GT, AND]); //                        !refund && now > deadline             [id late]
    a.push_target("revert").op(&[JUMPI]); //    late → revert                         [id]
    a.op(&[NUMBER, DUP2, SSTORE]); //           applied[id] = block.number            [id]
    a.push1(0x24).op(&[CALLDATALOAD, ISZERO, ISZERO]); // refund as 0/1              [id r]
    a.push1(0x00).op(&[MSTORE]); //             data[0] = refund                      [id]
    a.push1(0x84).op(&[CALLDATALOAD]).push1(0x20).op(&[MSTORE]); // data[1] = amount  [id]
    a.push(&abi::release_topic()); //                                                 [id topic]
    a.push1(0x40).push1(0x00).op(&[LOG2]); //   log2(0, 64, topic, id)                []
    a.op(&[STOP]);

    // applied(bytes32 id) → bool.
    a.target("applied").op(&[POP]); //                                               []
    a.push1(0x04).op(&[CALLDATALOAD, SLOAD, ISZERO, ISZERO]); // applied[id] != 0     [b]
    a.push1(0).op(&[MSTORE]); //                memory[0] = b
    a.push1(0x20).push1(0).op(&[RETURN]); //    return(0, 32)
    a.build()
}

/// The contract's runtime code.
pub fn runtime_code() -> Vec<u8> {
    // Every target above is placed; `tests::every_jump_lands_on_a_jumpdest` checks it.
    assemble_runtime().unwrap_or_default()
}

/// Deployment code: record the deployer as owner, then return the runtime, which follows
/// these 18 bytes.
pub fn init_code() -> Vec<u8> {
    const LEN: u8 = 18;
    let runtime = runtime_code();
    let n = u16::try_from(runtime.len())
        .unwrap_or(u16::MAX)
        .to_be_bytes();
    let mut c = vec![
        CALLER, PUSH1, 0x01, SSTORE, //   owner = msg.sender
        PUSH2, n[0], n[1], //             size
        PUSH1, LEN, //                    code offset of the runtime
        PUSH1, 0x00,     //                   memory offset
        CODECOPY, //                      memory[0..size] = code[LEN..LEN+size]
        PUSH2, n[0], n[1], //             size
        PUSH1, 0x00,   //                   memory offset
        RETURN, //                        return(0, size)
    ];
    debug_assert_eq!(c.len(), usize::from(LEN));
    c.extend_from_slice(&runtime);
    c
}

/// Deploy the bridge from `from` (an account the node holds unlocked), wait for it to be
/// mined, and check the code the node now holds: the bridge's address.
pub fn deploy(rpc: &Rpc, from: &Address, timeout: Duration) -> Result<Address, AdapterError> {
    let tx = rpc.send_transaction(json!({
        "from": hex0x(from), "data": hex0x(&init_code()), "gas": "0x100000"
    }))?;
    let receipt = rpc.wait_receipt(&tx, timeout)?;
    if receipt.get("status").and_then(|s| s.as_str()) != Some("0x1") {
        return Err(AdapterError::Unavailable(format!(
            "bridge deployment {tx} failed: {receipt}"
        )));
    }
    let address: Address = field_fixed(&receipt, "contractAddress")?;
    let code = rpc.call("eth_getCode", json!([hex0x(&address), "latest"]))?;
    if code.as_str() != Some(hex0x(&runtime_code()).as_str()) {
        return Err(AdapterError::Unavailable(format!(
            "the node holds other code at the bridge address {}",
            hex0x(&address)
        )));
    }
    Ok(address)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Walk the code instruction by instruction (skipping PUSH data): the JUMPDESTs and the
    /// PUSH2 operands that precede a JUMPI.
    fn walk(code: &[u8]) -> (Vec<usize>, Vec<usize>) {
        let (mut dests, mut jumps) = (Vec::new(), Vec::new());
        let mut pc = 0;
        while pc < code.len() {
            let op = code[pc];
            if op == JUMPDEST {
                dests.push(pc);
            }
            if op == PUSH2 && code.get(pc + 3) == Some(&JUMPI) {
                jumps.push(usize::from(u16::from_be_bytes([
                    code[pc + 1],
                    code[pc + 2],
                ])));
            }
            pc += if (PUSH1..=0x7f).contains(&op) {
                usize::from(op - PUSH1) + 2
            } else {
                1
            };
        }
        (dests, jumps)
    }

    #[test]
    fn every_jump_lands_on_a_jumpdest() {
        let code = assemble_runtime().expect("every target placed");
        let (dests, jumps) = walk(&code);
        assert_eq!(dests.len(), 4, "revert, lock, release, applied");
        // value check, 3 selectors, 3 length checks + the amount check, owner, applied, late.
        assert_eq!(jumps.len(), 11);
        for j in jumps {
            assert!(dests.contains(&j), "jump to {j} is not a JUMPDEST");
        }
    }

    #[test]
    fn init_code_returns_the_runtime_that_follows_it() {
        let init = init_code();
        let runtime = runtime_code();
        assert!(!runtime.is_empty());
        let offset = usize::from(init[8]);
        assert_eq!(&init[offset..], &runtime[..]);
        assert_eq!(init[..4], [CALLER, PUSH1, 1, SSTORE]);
        let size = usize::from(u16::from_be_bytes([init[5], init[6]]));
        assert_eq!(size, runtime.len());
        assert_eq!(init[offset - 1], RETURN);
    }

    #[test]
    fn the_selectors_and_topics_are_in_the_code() {
        let code = runtime_code();
        let has = |needle: &[u8]| code.windows(needle.len()).any(|w| w == needle);
        assert!(has(&abi::lock_selector()));
        assert!(has(&abi::release_selector()));
        assert!(has(&abi::applied_selector()));
        assert!(has(&abi::lock_topic()));
        assert!(has(&abi::release_topic()));
    }
}
