//! Windowed processors: each records input events into its windows and turns every closed
//! window into decisions.

pub mod anomaly;

pub use anomaly::AnomalyProcessor;

use crate::window::Origin;

/// What a closed window produced, with the input offsets it held until its outputs are
/// acknowledged.
#[derive(Debug)]
pub struct WindowResult<T> {
    /// Decisions, possibly none (a quiet window).
    pub outputs: Vec<T>,
    /// Lowest offset per partition that fed the window.
    pub origins: Vec<Origin>,
}
