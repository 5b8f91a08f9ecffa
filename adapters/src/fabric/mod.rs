//! The fabric family adapter and its mock chain (being written).
