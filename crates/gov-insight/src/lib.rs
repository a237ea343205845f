//! Insight engine of gov: pure judgements over numbers the facades read. The Overview's health
//! status and its reasons (`health`), trends between two periods (`trend`), and the Analytics
//! arithmetic (`analytics`: time buckets, burn rate, rates). No I/O: the caller passes the data
//! and the time.

pub mod analytics;
pub mod health;
pub mod rollup;
pub mod trend;
