//! Outputs on their way to the broker, and what comes back.

use crate::topics::TopicRole;
use crate::window::Origin;
use futures::stream::FuturesUnordered;
use std::future::Future;
use std::pin::Pin;

/// An encoded message on its way out, with the input offsets it keeps uncommitted.
#[derive(Debug)]
pub(super) struct Output {
    pub role: TopicRole,
    pub key: Vec<u8>,
    pub payload: Vec<u8>,
    pub holds: Vec<Origin>,
    pub decision: bool,
}

/// What came back for an output.
pub(super) struct Acked {
    pub topic: String,
    pub holds: Vec<Origin>,
    pub decision: bool,
    pub result: Result<(), String>,
}

/// Outputs awaiting acknowledgement.
pub(super) type Pending = FuturesUnordered<Pin<Box<dyn Future<Output = Acked> + Send>>>;
