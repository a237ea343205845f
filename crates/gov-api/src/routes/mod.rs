//! Every endpoint, registered in one place so the OpenAPI document is collected from the same
//! registrations that serve requests (utoipa-actix-web): an endpoint cannot be served undocumented.

mod accounts;
mod activity;
mod analytics;
mod api_keys;
mod exports;
pub(crate) mod golive;
mod health;
pub(crate) mod heimdall;
mod incident_insight;
mod incidents;
mod log_export;
mod logs;
mod overview;
mod policies;
mod policy_controls;
mod policy_limits;
mod policy_proposals;
pub(crate) mod regression;
pub(crate) mod risk;
mod runs;
mod system_logs;
mod traces;
mod users;

use std::sync::OnceLock;

use actix_web::dev::{ServiceFactory, ServiceRequest};
use actix_web::middleware::from_fn;
use actix_web::{HttpRequest, web};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_actix_web::{UtoipaApp, scope};

use crate::error::ApiError;
use crate::guard::{exempt, guarded, production};
use crate::{auth, body};

/// Every route under `/api/v1` and `/api/governance` needs a key: its scope authenticates the key
/// first (`auth::authenticate`), then reads and checks the body (`body::prepare`). A route that
/// is not a read is registered with its execution class (`exempt`, `guarded`, `production`: see
/// `guard.rs`); a read is exempt.
pub fn register<T>(app: UtoipaApp<T>) -> UtoipaApp<T>
where
    T: ServiceFactory<ServiceRequest, Config = (), Error = actix_web::Error, InitError = ()>,
{
    app.openapi(ApiDoc::openapi())
        .service(health::healthz)
        .service(health::readyz)
        .service(health::metrics)
        .service(health::openapi)
        .service(
            scope::scope("/api/v1")
                .service(accounts::current)
                .service(overview::health)
                .service(overview::metrics)
                .service(overview::highlights)
                .service(overview::decisions)
                .service(overview::summary)
                .service(users::list)
                .service(exempt(users::create))
                .service(users::show)
                .service(exempt(users::update))
                .service(exempt(users::remove))
                .service(users::get_roles)
                .service(exempt(users::set_roles))
                .service(api_keys::list)
                .service(exempt(api_keys::create))
                .service(api_keys::show)
                .service(exempt(api_keys::revoke))
                .service(exempt(api_keys::rotate))
                .service(logs::audit_integrity)
                .service(logs::audit)
                .service(exempt(log_export::export))
                .service(traces::llm_runs)
                .service(system_logs::system)
                .service(system_logs::list)
                .service(guarded(system_logs::search_logs))
                .service(system_logs::show)
                // Policies: fixed paths before `/policies/{policy_id}`.
                .service(policies::list)
                .service(policies::list_rules)
                .service(guarded(policies::create_rule))
                .service(policies::show_rule)
                .service(guarded(policies::update_rule))
                .service(guarded(policies::delete_rule))
                .service(policy_limits::list)
                .service(guarded(policy_limits::create))
                .service(policy_limits::show)
                .service(guarded(policy_limits::update))
                .service(guarded(policy_limits::remove))
                .service(policy_controls::violations)
                .service(policy_controls::violation_stats)
                .service(policy_controls::library)
                .service(policy_controls::controls)
                .service(guarded(policy_controls::set_controls))
                .service(exempt(policy_controls::validate))
                .service(policy_proposals::list)
                .service(guarded(policy_proposals::create))
                .service(policy_proposals::show)
                .service(guarded(policy_proposals::update))
                .service(guarded(policy_proposals::approve))
                .service(guarded(policy_proposals::reject))
                .service(policies::show_policy)
                .service(guarded(policies::update_policy))
                .service(guarded(policies::delete_policy))
                .service(policies::versions)
                // Runs
                .service(guarded(runs::release_agent))
                .service(production(runs::start))
                .service(guarded(runs::record_step))
                .service(exempt(runs::check_step))
                .service(guarded(runs::complete))
                .service(guarded(runs::cancel))
                .service(guarded(runs::override_run))
                // Traces
                .service(traces::list)
                .service(traces::show)
                .service(traces::steps)
                .service(exempt(traces::replay))
                // Activity and analytics
                .service(activity::list)
                .service(activity::live)
                .service(activity::completed)
                .service(activity::signals)
                .service(activity::show)
                .service(activity::costs)
                .service(analytics::cost_intelligence)
                .service(analytics::policies_usage)
                .service(analytics::productivity)
                // Incidents: fixed paths before `/incidents/{incident_id}`.
                .service(incidents::list)
                .service(incidents::active)
                .service(incidents::resolved)
                .service(incidents::by_policy)
                .service(incident_insight::stats)
                .service(incident_insight::patterns)
                .service(incidents::show)
                .service(guarded(incidents::acknowledge))
                .service(guarded(incidents::escalate))
                .service(guarded(incidents::resolve))
                .service(incidents::timeline)
                .service(incidents::comments)
                .service(guarded(incidents::add_comment))
                .service(incident_insight::related)
                .service(incident_insight::show_postmortem)
                .service(guarded(incident_insight::create_postmortem))
                // Evidence exports
                .service(exempt(exports::export_evidence))
                .service(exempt(exports::export_soc2))
                .service(exempt(exports::export_executive_debrief))
                .service(exports::incident_evidence)
                .service(exports::run_evidence)
                .service(exports::list)
                .service(exports::download)
                .service(exports::document)
                .service(exports::public_key)
                .wrap(from_fn(body::prepare))
                .wrap(from_fn(auth::authenticate)),
        )
        .service(
            scope::scope("/api/governance")
                .service(golive::go_live_state)
                .service(golive::checklist)
                .service(exempt(golive::enable))
                .service(exempt(golive::disable))
                .service(exempt(golive::engage))
                .service(exempt(golive::release))
                .service(risk::policies)
                .service(exempt(risk::upsert))
                .service(risk::ledger_today)
                .service(production(risk::check_and_reserve))
                .service(exempt(risk::settle))
                .service(heimdall::policies)
                .service(exempt(heimdall::upsert))
                .service(heimdall::scorecard_today)
                .service(exempt(heimdall::sandbox_trial))
                .service(exempt(heimdall::recommend))
                .service(exempt(heimdall::require_prod_eligible))
                .service(regression::policies)
                .service(exempt(regression::upsert))
                .service(regression::regression_state)
                .service(exempt(regression::evaluate))
                .service(exempt(regression::kpi))
                .wrap(from_fn(body::prepare))
                .wrap(from_fn(auth::authenticate)),
        )
}

/// Unknown paths are 404; known paths with another method are 405 with an `Allow` header. Both
/// in the JSON error shape.
pub async fn fallback(req: HttpRequest) -> Result<actix_web::HttpResponse, ApiError> {
    Err(if req.resource_map().has_resource(req.path()) {
        ApiError::MethodNotAllowed { allow: allowed_methods(req.path()) }
    } else {
        ApiError::RouteNotFound
    })
}

/// The methods served at `path` (e.g. `GET, POST`), read from the OpenAPI document, which is
/// built from the same registrations as the routes (computed once: it is immutable).
fn allowed_methods(path: &str) -> String {
    static ROUTES: OnceLock<Vec<(String, Vec<&'static str>)>> = OnceLock::new();
    let routes = ROUTES.get_or_init(|| {
        let api = crate::startup::openapi();
        let methods = |item: &utoipa::openapi::PathItem| {
            [
                ("GET", item.get.is_some()),
                ("PUT", item.put.is_some()),
                ("POST", item.post.is_some()),
                ("DELETE", item.delete.is_some()),
                ("PATCH", item.patch.is_some()),
            ]
            .into_iter()
            .filter_map(|(method, served)| served.then_some(method))
            .collect()
        };
        api.paths.paths.iter().map(|(template, item)| (template.clone(), methods(item))).collect()
    });
    // A fixed segment outranks a parameter (`/policies/controls` before `/policies/{policy_id}`),
    // as in the registration order: the methods are those of the most specific matching routes.
    let matching: Vec<(usize, &Vec<&str>)> = routes
        .iter()
        .filter_map(|(template, methods)| template_match(template, path).map(|fixed| (fixed, methods)))
        .collect();
    let best = matching.iter().map(|(fixed, _)| *fixed).max();
    let mut allowed: Vec<&str> = matching
        .iter()
        .filter(|(fixed, _)| Some(*fixed) == best)
        .flat_map(|(_, methods)| methods.iter().copied())
        .collect();
    allowed.sort_unstable();
    allowed.dedup();
    allowed.join(", ")
}

/// Whether `path` fits a route template such as `/api/v1/runs/{run_id}/steps`, and if so with
/// how many fixed (not parameter) segments.
fn template_match(template: &str, path: &str) -> Option<usize> {
    let (template, path): (Vec<&str>, Vec<&str>) = (template.split('/').collect(), path.split('/').collect());
    let fits = template.len() == path.len()
        && template.iter().zip(&path).all(|(t, p)| if t.starts_with('{') { !p.is_empty() } else { t == p });
    fits.then(|| template.iter().filter(|t| !t.starts_with('{')).count())
}

pub fn not_found_config() -> actix_web::Route {
    web::to(fallback)
}

#[derive(OpenApi)]
#[openapi(
    info(title = "gov", description = "Self-hosted AI governance control plane."),
    modifiers(&BearerAuth)
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("gov API key").build(),
            ),
        );
    }
}
