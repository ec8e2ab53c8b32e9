//! fabric-ai's own algorithms. Online: each sample is seen once, in event-time order, with no
//! look-ahead beyond the window being answered. Deterministic: the same request gives the same
//! answer.

pub mod anomaly;
pub mod forecast;
pub mod forecast_models;
pub mod performance;
pub mod scaling;
pub mod seasonality;
pub mod workload;

use crate::config::AnomalyConfig;
use crate::engine::{AnomalyAnswer, Engine, EngineAnswer, EngineError, EngineRequest};

/// The built-in engine: answers every endpoint in-process.
#[derive(Debug, Clone, Default)]
pub struct BuiltinEngine {
    anomaly: AnomalyConfig,
}

impl BuiltinEngine {
    /// An engine using the detector settings of `anomaly`.
    pub fn new(anomaly: AnomalyConfig) -> BuiltinEngine {
        BuiltinEngine { anomaly }
    }
}

impl Engine for BuiltinEngine {
    fn name(&self) -> &'static str {
        "builtin"
    }

    fn answer(&self, request: &EngineRequest) -> Result<EngineAnswer, EngineError> {
        Ok(match request {
            EngineRequest::Anomaly(r) => {
                let mut baseline = r.baseline.clone();
                let detection = anomaly::detect(&self.anomaly, &mut baseline, &r.samples);
                EngineAnswer::Anomaly(AnomalyAnswer {
                    alarms: detection.alarms,
                })
            }
            EngineRequest::Performance(r) => EngineAnswer::Performance(performance::optimize(r)),
            EngineRequest::Workload(r) => EngineAnswer::Workload(workload::analyze(r)),
            EngineRequest::Prediction(r) => EngineAnswer::Prediction(forecast::predict(r)),
            EngineRequest::Scaling(r) => EngineAnswer::Scaling(scaling::decide(r)),
        })
    }
}
