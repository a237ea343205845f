//! What every handler can reach through `web::Data<AppState>`.

use gov_facades::Gov;

use crate::guard::Classes;
use crate::metrics::Metrics;

pub struct AppState {
    pub gov: Gov,
    pub metrics: Metrics,
    /// The OpenAPI document, rendered once at start-up.
    pub openapi_json: String,
    pub max_body_bytes: usize,
    /// Whether a tenant that is not live is refused its guarded requests (`GO_LIVE_ENFORCE`).
    pub go_live_enforce: bool,
    /// The execution class of every route, as its registration declares it.
    pub classes: Classes,
}
