//! fabric-ai's own algorithms. Online: each sample is seen once, in event-time order, with no
//! look-ahead beyond the window being answered.

pub mod anomaly;
