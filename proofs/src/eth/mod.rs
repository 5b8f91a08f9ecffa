//! (stub: being written)

use thiserror::Error;

/// Why a proof of this family was rejected.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum EthError {
    /// Placeholder until the module lands.
    #[error("not implemented yet")]
    NotImplemented,
}
