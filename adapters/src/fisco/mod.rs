//! The fisco family adapter and its mock chain (being written).
