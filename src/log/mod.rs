//! (stub: the commit log is being written)
