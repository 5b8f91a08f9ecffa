//! The xuper family adapter and its mock chain (being written).
