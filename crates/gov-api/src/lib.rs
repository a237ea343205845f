//! The gov HTTP API (actix-web) and the `gov` command line. The only crate that knows HTTP and
//! JSON wire types: handlers parse requests into use-case inputs, call `gov_facades`, and shape
//! the answers into the seed's envelopes.

mod auth;
mod blocking;
mod body;
mod cursor;
mod envelope;
mod error;
mod extract;
mod guard;
mod metrics;
mod observe;
mod openapi;
mod routes;
mod schema;
mod sealer;
mod state;
mod telemetry;
mod wire;

pub mod cli;
pub mod demo;
pub mod drain;
pub mod review;
pub mod startup;
pub mod verify_cmd;

pub use startup::{Server, ServerConfig, openapi, start};
pub use telemetry::{LogFormat, init as init_logging};
