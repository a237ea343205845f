//! What every handler can reach through `web::Data<AppState>`.

use gov_facades::Gov;

use crate::metrics::Metrics;

pub struct AppState {
    pub gov: Gov,
    pub metrics: Metrics,
    /// The OpenAPI document, rendered once at start-up.
    pub openapi_json: String,
}
