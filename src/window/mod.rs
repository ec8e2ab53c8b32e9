//! Event-time windows and watermarks: the pure, synchronous core of every processor.
//!
//! A processor records each event into a [`WindowStore`], advances the [`Watermarks`] with the
//! event's partition and time, and takes the windows the watermark has passed. Nothing here
//! does I/O or reads a clock other than the one it is handed, so tests drive it directly.

pub mod spec;
pub mod store;
pub mod watermark;

pub use spec::WindowSpec;
pub use store::{note_origin, ClosedWindow, Origin, Recorded, StoreLimits, WindowStore};
pub use watermark::{PartitionId, Watermarks};
