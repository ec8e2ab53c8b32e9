//! Outputs on their way to the broker, and what comes back.

use super::close_clock::Closing;
use crate::topics::TopicRole;
use crate::window::Origin;
use futures::stream::FuturesUnordered;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// An encoded message on its way out, with the input offsets it keeps uncommitted.
#[derive(Debug)]
pub(super) struct Output {
    pub role: TopicRole,
    pub key: Vec<u8>,
    pub payload: Vec<u8>,
    pub holds: Vec<Origin>,
    pub decision: bool,
    /// When the window it was made from closed (see `close_clock`).
    pub closed: Option<Arc<Closing>>,
}

/// What came back for an output.
pub(super) struct Acked {
    pub topic: String,
    pub holds: Vec<Origin>,
    pub decision: bool,
    pub closed: Option<Arc<Closing>>,
    pub result: Result<(), String>,
}

/// Outputs awaiting acknowledgement.
pub(super) type Pending = FuturesUnordered<Pin<Box<dyn Future<Output = Acked> + Send>>>;
