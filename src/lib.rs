//! # meridian
//!
//! The hub: actors for every connected chain and city relay, the durable commit log, the
//! reference chain, the router, the HTTP API, the CLI, configuration and metrics.
//!
//! # Layout
//! - [`message`] — the cross-chain message, its id and lifecycle states.
//! - [`refchain`] — reference-chain headers, the city-relay set and quorum certificates.
//! - [`record`] — the commit log's record types: every state change is one.
//! - [`state`] — the hub state as a pure function of the log (replay = recovery).
//! - [`actors`] — chain, city-relay, router and reference-chain actors.
//! - [`hub`] — start, drive and stop the whole actor system on a data directory.
//! - [`config`] — hub.toml, cities.toml, chains/*.toml: parsed strictly, validated once.
//! - [`log`] — the durable, totally ordered commit log (`CommitLog` trait; redb and in-memory backends).

#![forbid(unsafe_code)]

pub mod actors;
pub mod config;
pub mod hexser;
pub mod http;
pub mod hub;
pub mod log;
pub mod message;
pub mod record;
pub mod refchain;
pub mod state;
