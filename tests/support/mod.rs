//! Helpers shared by the engine tests (and, through `#[path]`, the engine benchmark): a
//! scripted misbehaving HTTP server, the reference engine server on loopback, and sample
//! requests for every endpoint.
//!
//! Each test crate uses only some of them.

#![allow(dead_code)]

pub mod http;
pub mod reference;
pub mod samples;
