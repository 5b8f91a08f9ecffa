//! The chainsql family adapter and its mock chain (being written).
