//! The conformance kit: what every [`ChainAdapter`] must accept and reject, run against a chain
//! (usually the family's mock) that can produce each kind of evidence.
//!
//! A new adapter gets the whole kit with one call:
//! ```ignore
//! let report = meridian_adapters::conformance::run(&mut MyMockChain::new());
//! assert!(report.failures().is_empty(), "{report}");
//! ```

use crate::{AdapterError, ChainAdapter, Evidence};

/// A chain that can produce every kind of evidence the kit checks.
pub trait ConformanceChain {
    /// A fresh adapter for this chain, trusting its genesis and its validator set.
    fn adapter(&self) -> Result<Box<dyn ChainAdapter>, AdapterError>;
    /// Lock a transfer and finalize a block holding it: genuine evidence. Each call makes a
    /// new block.
    fn genuine(&mut self) -> Evidence;
    /// Genuine evidence whose header was changed after it was signed.
    fn forged_header(&mut self) -> Evidence;
    /// A lock in a block signed by fewer validators than the finality rule needs.
    fn below_quorum(&mut self) -> Evidence;
    /// A lock in a block signed, enough times, by keys outside the trusted validator set.
    fn unknown_validator(&mut self) -> Evidence;
    /// A lock on another chain of the same family (another chain id), genuinely signed there.
    fn wrong_chain(&mut self) -> Evidence;
    /// A lock in a block that is not final yet.
    fn non_final(&mut self) -> Evidence;
}

/// The kit's findings: one line per check.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// `(check, Ok or what went wrong)`.
    pub checks: Vec<(&'static str, Result<(), String>)>,
}

impl Report {
    /// The checks that failed, with why.
    pub fn failures(&self) -> Vec<String> {
        self.checks
            .iter()
            .filter_map(|(name, r)| r.as_ref().err().map(|e| format!("{name}: {e}")))
            .collect()
    }
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (name, r) in &self.checks {
            match r {
                Ok(()) => writeln!(f, "ok    {name}")?,
                Err(e) => writeln!(f, "FAIL  {name}: {e}")?,
            }
        }
        Ok(())
    }
}

fn must_reject(adapter: &mut dyn ChainAdapter, ev: &Evidence) -> Result<(), String> {
    match adapter.verify_event(ev) {
        Ok(e) => Err(format!("accepted: {e:?}")),
        Err(_) => Ok(()),
    }
}

/// Flip each byte of `ev`'s proof and event in turn; every changed evidence must be rejected.
fn reject_every_byte_change(adapter: &mut dyn ChainAdapter, ev: &Evidence) -> Result<(), String> {
    for field in ["proof", "event"] {
        let len = if field == "proof" {
            ev.proof.len()
        } else {
            ev.event.len()
        };
        for i in 0..len {
            let mut changed = ev.clone();
            let target = if field == "proof" {
                &mut changed.proof
            } else {
                &mut changed.event
            };
            target[i] ^= 0x01;
            must_reject(adapter, &changed).map_err(|e| format!("{field}[{i}]: {e}"))?;
        }
    }
    Ok(())
}

/// Run every check against `chain`.
pub fn run(chain: &mut dyn ConformanceChain) -> Report {
    let mut r = Report::default();
    let fresh = |chain: &dyn ConformanceChain| chain.adapter().map_err(|e| e.to_string());

    // Genuine evidence is accepted and decodes to its own locator.
    let e1 = chain.genuine();
    let e2 = chain.genuine();
    r.checks.push((
        "accepts genuine evidence",
        fresh(chain).and_then(|mut a| {
            let ev = a.verify_event(&e1).map_err(|e| e.to_string())?;
            if ev.locator != e1.locator {
                return Err("decoded locator differs from the evidence's".into());
            }
            if ev.amount == 0 || ev.destination.is_empty() {
                return Err(format!("implausible decoded event {ev:?}"));
            }
            a.verify_event(&e2).map(|_| ()).map_err(|e| e.to_string())
        }),
    ));
    let checks: Vec<(&'static str, Evidence)> = vec![
        ("rejects a forged header", chain.forged_header()),
        ("rejects a header below quorum", chain.below_quorum()),
        ("rejects an unknown validator", chain.unknown_validator()),
        ("rejects the wrong chain id", chain.wrong_chain()),
        ("rejects an event from a non-final block", chain.non_final()),
        (
            "rejects a proof for another block",
            Evidence {
                header: e2.header.clone(),
                ..e1.clone()
            },
        ),
        (
            "rejects another event under the same proof",
            Evidence {
                event: e2.event.clone(),
                ..e1.clone()
            },
        ),
        (
            "rejects a locator that is not the proven position",
            Evidence {
                locator: e2.locator.clone(),
                ..e1.clone()
            },
        ),
    ];
    for (name, ev) in checks {
        r.checks.push((
            name,
            fresh(chain).and_then(|mut a| must_reject(a.as_mut(), &ev)),
        ));
    }
    // Every single-byte change of the proof and of the event is rejected.
    r.checks.push((
        "rejects every single-byte change of the proof and event",
        fresh(chain).and_then(|mut a| reject_every_byte_change(a.as_mut(), &e1)),
    ));
    // The same, by an adapter that has just accepted the genuine evidence of that block (and
    // so holds whatever it keeps of it: a checked header, proven nodes).
    r.checks.push((
        "rejects every single-byte change of the proof and event after accepting the genuine one",
        fresh(chain).and_then(|mut a| {
            a.verify_event(&e1).map_err(|e| e.to_string())?;
            reject_every_byte_change(a.as_mut(), &e1)?;
            // And it still accepts the genuine evidence.
            a.verify_event(&e1).map(|_| ()).map_err(|e| e.to_string())
        }),
    ));
    // Once relayed, the same event is a replay; and a replay is told only of genuine evidence
    // (the hub answers a replay with the relayed event's message): changed evidence of a
    // relayed event is refused for what is wrong with it.
    r.checks.push((
        "rejects a replayed event, and calls only genuine evidence a replay",
        fresh(chain).and_then(|mut a| {
            a.verify_event(&e1).map_err(|e| e.to_string())?;
            a.mark_relayed(&e1.locator);
            match a.verify_event(&e1) {
                Err(AdapterError::Replay(_)) => {}
                other => return Err(format!("the relayed event again: {other:?}")),
            }
            let mut changed = vec![Evidence {
                header: e2.header.clone(),
                ..e1.clone()
            }];
            for i in [0, e1.proof.len() / 2, e1.proof.len().saturating_sub(1)] {
                let mut c = e1.clone();
                if let Some(b) = c.proof.get_mut(i) {
                    *b ^= 0x01;
                    changed.push(c);
                }
            }
            for c in &changed {
                match a.verify_event(c) {
                    Err(AdapterError::Replay(why)) => {
                        return Err(format!(
                            "changed evidence of a relayed event called a replay ({why})"
                        ))
                    }
                    Err(_) => {}
                    Ok(e) => return Err(format!("changed evidence accepted: {e:?}")),
                }
            }
            Ok(())
        }),
    ));
    r
}
