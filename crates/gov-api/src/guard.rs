//! Execution classes for the go-live guard (seed 004 `GoLiveMiddleware`, `ExecutionClassMiddleware`):
//! which requests a tenant that is not live may still make, and which execute in production.
//! `routes/mod.rs` declares each route's class where it registers the route ([`exempt`],
//! [`guarded`], [`production`]); a read (GET, HEAD, OPTIONS) needs no declaration: it is exempt.
//! The class travels with the route's operation in the OpenAPI document (`x-execution-class`),
//! from which [`Classes`], the guard's table, is built at start-up, so there is no second list.

use std::collections::HashMap;

use actix_web::dev::{AppService, HttpServiceFactory};
use actix_web::http::Method;
use utoipa::openapi::path::{Operation, Paths};
use utoipa::openapi::{OpenApi, RefOr, extensions::Extensions, schema::Schema};
use utoipa_actix_web::OpenApiFactory;

/// How a request relates to production.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Allowed whatever the go-live state: reads, the governance levers themselves, identity
    /// administration and read-only checks (what an operator needs to recover).
    Exempt,
    /// Refused while the tenant is not live (when `GO_LIVE_ENFORCE` is on).
    Guarded,
    /// Executes in production: guarded, and also refused while the kill switch is engaged. The
    /// use case checks the switch in its own transaction (never from a cache), so a request on
    /// any replica is refused once an engage is acknowledged. (Steps of runs already started are
    /// answered BLOCK by the prevention path instead.)
    ProdExec,
}

/// The operation extension that carries a route's declared class.
pub const EXTENSION: &str = "x-execution-class";

impl Class {
    const ALL: [Class; 3] = [Class::Exempt, Class::Guarded, Class::ProdExec];

    pub const fn as_str(self) -> &'static str {
        match self {
            Class::Exempt => "exempt",
            Class::Guarded => "guarded",
            Class::ProdExec => "production",
        }
    }

    /// The class an operation declares, if it declares one.
    pub fn declared(operation: &Operation) -> Option<Class> {
        let value = operation.extensions.as_ref()?.get(EXTENSION)?.as_str()?;
        Class::ALL.into_iter().find(|class| class.as_str() == value)
    }
}

fn is_read(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// A route registered with its execution class (see [`exempt`], [`guarded`], [`production`]).
pub struct Classed<F> {
    class: Class,
    route: F,
}

/// Registers a route that changes state and stays open while the tenant is not live.
pub fn exempt<F>(route: F) -> Classed<F> {
    Classed { class: Class::Exempt, route }
}

/// Registers a route refused while the tenant is not live.
pub fn guarded<F>(route: F) -> Classed<F> {
    Classed { class: Class::Guarded, route }
}

/// Registers a route that executes in production: guarded, and refused by its use case while the
/// kill switch is engaged.
pub fn production<F>(route: F) -> Classed<F> {
    Classed { class: Class::ProdExec, route }
}

impl<F: HttpServiceFactory> HttpServiceFactory for Classed<F> {
    fn register(self, config: &mut AppService) {
        self.route.register(config);
    }
}

impl<F: OpenApiFactory> OpenApiFactory for Classed<F> {
    fn paths(&self) -> Paths {
        let mut paths = self.route.paths();
        for item in paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.options,
                &mut item.head,
                &mut item.patch,
            ];
            for operation in operations.into_iter().flatten() {
                let extensions = operation.extensions.get_or_insert_with(Extensions::default);
                extensions.insert(EXTENSION.to_owned(), self.class.as_str().into());
            }
        }
        paths
    }

    fn schemas(&self, schemas: &mut Vec<(String, RefOr<Schema>)>) {
        self.route.schemas(schemas);
    }
}

/// The guard's table: the declared class of every registered route, by method and route pattern.
#[derive(Debug, Default)]
pub struct Classes(HashMap<(Method, String), Class>);

impl Classes {
    /// The classes the operations of `api` (built from the registrations) declare.
    pub fn of_document(api: &OpenApi) -> Classes {
        let mut classes = HashMap::new();
        for (pattern, item) in &api.paths.paths {
            let operations = [
                (Method::GET, &item.get),
                (Method::PUT, &item.put),
                (Method::POST, &item.post),
                (Method::DELETE, &item.delete),
                (Method::OPTIONS, &item.options),
                (Method::HEAD, &item.head),
                (Method::PATCH, &item.patch),
            ];
            for (method, operation) in operations {
                if let Some(class) = operation.as_ref().and_then(Class::declared) {
                    classes.insert((method, pattern.clone()), class);
                }
            }
        }
        Classes(classes)
    }

    /// The class of a request, by method and matched route pattern: as declared; a read that
    /// declares nothing is exempt, and any other undeclared request guarded (fail closed; the
    /// tests below make every registration declare its class).
    pub fn of(&self, method: &Method, pattern: String) -> Class {
        match self.0.get(&(method.clone(), pattern)) {
            Some(class) => *class,
            None if is_read(method) => Class::Exempt,
            None => Class::Guarded,
        }
    }
}

#[cfg(test)]
mod tests {
    use actix_web::App;
    use utoipa_actix_web::AppExt;

    use super::*;

    /// The document of the registrations that serve requests (without the error responses).
    fn registered() -> OpenApi {
        crate::routes::register(App::new().into_utoipa_app()).split_for_parts().1
    }

    #[test]
    fn classes() {
        let classes = Classes::of_document(&registered());
        let check = |method: Method, pattern: &str, expected: Class| {
            assert_eq!(classes.of(&method, pattern.to_owned()), expected, "{method} {pattern}");
        };
        check(Method::POST, "/api/v1/runs", Class::ProdExec);
        check(Method::POST, "/api/governance/risk/check-and-reserve", Class::ProdExec);
        check(Method::POST, "/api/governance/go-live/kill-switch/release", Class::Exempt);
        check(Method::POST, "/api/governance/risk/settle", Class::Exempt);
        check(Method::GET, "/api/v1/incidents/", Class::Exempt);
        check(Method::POST, "/api/v1/policies/validate", Class::Exempt);
        check(Method::POST, "/api/v1/traces/{trace_id}/replay", Class::Exempt);
        check(Method::POST, "/api/v1/runs/{run_id}/steps/check", Class::Exempt);
        check(Method::POST, "/api/v1/incidents/{incident_id}/export/evidence", Class::Exempt);
        check(Method::POST, "/api/v1/incidents/{incident_id}/export/soc2", Class::Exempt);
        check(Method::POST, "/api/v1/incidents/{incident_id}/export/executive-debrief", Class::Exempt);
        check(Method::POST, "/api/v1/logs/export", Class::Exempt);
        check(Method::POST, "/api/v1/connectivity/api-keys/", Class::Exempt);
        check(Method::DELETE, "/api/v1/accounts/users/{user_id}", Class::Exempt);
        check(Method::POST, "/api/v1/runs/{run_id}/steps", Class::Guarded);
        check(Method::POST, "/api/v1/policies/rules/", Class::Guarded);
        check(Method::POST, "/api/v1/incidents/{incident_id}/resolve", Class::Guarded);
        // Undeclared: a read is exempt, anything else fails closed.
        check(Method::GET, "/api/v1/not-registered", Class::Exempt);
        check(Method::POST, "/api/v1/not-registered", Class::Guarded);
    }

    #[test]
    fn every_route_that_changes_state_declares_its_class() {
        let api = registered();
        for (pattern, item) in &api.paths.paths {
            let writes =
                [("PUT", &item.put), ("POST", &item.post), ("DELETE", &item.delete), ("PATCH", &item.patch)];
            for (method, operation) in writes {
                if let Some(operation) = operation {
                    assert!(
                        Class::declared(operation).is_some(),
                        "{method} {pattern} is registered without its execution class (guard::exempt, \
                         guarded or production)"
                    );
                }
            }
        }
    }
}
