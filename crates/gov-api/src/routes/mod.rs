//! Every endpoint, registered in one place so the OpenAPI document is collected from the same
//! registrations that serve requests (utoipa-actix-web): an endpoint cannot be served undocumented.

mod accounts;
mod api_keys;
mod health;
mod logs;
mod users;

use actix_web::dev::{ServiceFactory, ServiceRequest};
use actix_web::{HttpRequest, web};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_actix_web::{UtoipaApp, scope};

use crate::error::ApiError;

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
                .service(users::list)
                .service(users::create)
                .service(users::show)
                .service(users::update)
                .service(users::remove)
                .service(users::get_roles)
                .service(users::set_roles)
                .service(api_keys::list)
                .service(api_keys::create)
                .service(api_keys::show)
                .service(api_keys::revoke)
                .service(api_keys::rotate)
                .service(logs::audit),
        )
}

/// Unknown paths are 404; known paths with another method are 405. Both in the JSON error shape.
pub async fn fallback(req: HttpRequest) -> Result<actix_web::HttpResponse, ApiError> {
    Err(if req.resource_map().has_resource(req.path()) {
        ApiError::MethodNotAllowed
    } else {
        ApiError::RouteNotFound
    })
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
