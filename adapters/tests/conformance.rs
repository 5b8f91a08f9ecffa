//! The conformance kit on every adapter with a mock chain.

use meridian_adapters::conformance;
use meridian_adapters::mock::MockConformance;

#[test]
fn generic_mock_adapter_passes_the_kit() {
    let report = conformance::run(&mut MockConformance::new("mock-conf", 4));
    assert!(report.failures().is_empty(), "\n{report}");
    assert!(report.checks.len() >= 11, "\n{report}");
}

/// The kit can fail: an adapter that accepts any evidence fails every rejection check.
#[test]
fn an_adapter_that_accepts_anything_fails_the_kit() {
    use meridian_adapters::conformance::ConformanceChain;
    use meridian_adapters::{
        AdapterError, ChainAdapter, Delivery, Evidence, Family, HeaderInfo, LockEvent, Receipt,
    };

    struct AcceptAll;
    impl ChainAdapter for AcceptAll {
        fn chain_id(&self) -> &str {
            "mock-conf"
        }
        fn family(&self) -> Family {
            Family::Mock
        }
        fn verify_header(&mut self, _: &[u8]) -> Result<HeaderInfo, AdapterError> {
            Ok(HeaderInfo {
                height: 1,
                hash: vec![],
            })
        }
        fn verify_event(&mut self, ev: &Evidence) -> Result<LockEvent, AdapterError> {
            Ok(LockEvent {
                locator: ev.locator.clone(),
                height: 1,
                destination: "x".into(),
                sender: "a".into(),
                recipient: "b".into(),
                asset: "T".into(),
                amount: 1,
            })
        }
        fn encode_delivery(&self, _: &Delivery) -> Result<Vec<u8>, AdapterError> {
            Ok(vec![])
        }
        fn deliver(&mut self, _: &Delivery) -> Result<Receipt, AdapterError> {
            Ok(Receipt {
                reference: vec![],
                duplicate: false,
            })
        }
        fn applied(&mut self, _: &[u8; 32]) -> Result<Option<Receipt>, AdapterError> {
            Ok(None)
        }
        fn light_client_state(&self) -> Vec<u8> {
            vec![]
        }
        fn restore_light_client(&mut self, _: &[u8]) -> Result<(), AdapterError> {
            Ok(())
        }
    }

    struct Lax(MockConformance);
    impl ConformanceChain for Lax {
        fn adapter(&self) -> Result<Box<dyn ChainAdapter>, AdapterError> {
            Ok(Box::new(AcceptAll))
        }
        fn genuine(&mut self) -> Evidence {
            self.0.genuine()
        }
        fn forged_header(&mut self) -> Evidence {
            self.0.forged_header()
        }
        fn below_quorum(&mut self) -> Evidence {
            self.0.below_quorum()
        }
        fn unknown_validator(&mut self) -> Evidence {
            self.0.unknown_validator()
        }
        fn wrong_chain(&mut self) -> Evidence {
            self.0.wrong_chain()
        }
        fn non_final(&mut self) -> Evidence {
            self.0.non_final()
        }
    }

    let report = conformance::run(&mut Lax(MockConformance::new("mock-conf", 4)));
    assert!(report.failures().len() >= 9, "\n{report}");
}
