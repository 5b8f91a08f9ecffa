//! The ethereum family adapter and its mock chain (being written).
