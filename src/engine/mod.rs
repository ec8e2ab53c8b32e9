//! Engines answer closed windows with findings.
//!
//! [`builtin`] holds fabric-ai's own algorithms, which run in-process and answer whenever no
//! external engine is configured or it cannot answer well.

pub mod builtin;
