//! The eos family adapter and its mock chain (being written).
