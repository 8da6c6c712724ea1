//! What operators see of a running seedport: log lines (text or JSON) and Prometheus metrics.

pub mod logging;
pub mod metrics;
