//! Authentication and scope checks: the `authenticate` middleware refuses a request whose key
//! does not authenticate before its body is read, and a handler taking `Authed<Admin>` can only
//! run for a valid, unexpired, unrevoked key of a tenant that holds the admin scope.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use gov_facades::{AuthFailure, Caller, Error as FacadeError};
use gov_model::{Actor, Principal, Scope};

use crate::blocking::blocking;
use crate::error::ApiError;
use crate::extract::request_id;
use crate::guard::Class;
use crate::state::AppState;

/// A scope an endpoint requires, as a type.
pub trait RequiredScope {
    const SCOPE: Scope;
}

macro_rules! scope_marker {
    ($($name:ident => $scope:expr),* $(,)?) => {$(
        #[derive(Debug)]
        pub struct $name;
        impl RequiredScope for $name {
            const SCOPE: Scope = $scope;
        }
    )*};
}
scope_marker!(Read => Scope::Read, Write => Scope::Write, Admin => Scope::Admin, Ingest => Scope::Ingest);

/// An authenticated caller holding scope `S`.
#[derive(Debug)]
pub struct Authed<S> {
    pub principal: Principal,
    pub caller: Caller,
    _scope: PhantomData<S>,
}

/// Query parameters that look like credentials are refused outright: keys in URLs end up in logs.
fn key_in_query(req: &HttpRequest) -> bool {
    const NAMES: [&str; 6] = ["api_key", "apikey", "key", "token", "access_token", "authorization"];
    url_pairs(req.query_string())
        .any(|(k, v)| NAMES.contains(&k.to_ascii_lowercase().as_str()) || v.starts_with("gov_"))
}

fn url_pairs(query: &str) -> impl Iterator<Item = (&str, &str)> {
    query.split('&').filter(|p| !p.is_empty()).map(|pair| pair.split_once('=').unwrap_or((pair, "")))
}

fn bearer(req: &HttpRequest) -> Result<String, ApiError> {
    let header = req.headers().get(actix_web::http::header::AUTHORIZATION);
    let value =
        header.and_then(|h| h.to_str().ok()).ok_or(FacadeError::Unauthorized(AuthFailure::Missing))?;
    let (scheme, token) =
        value.trim().split_once(' ').ok_or(FacadeError::Unauthorized(AuthFailure::Missing))?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(FacadeError::Unauthorized(AuthFailure::Missing).into());
    }
    Ok(token.trim().to_owned())
}

/// The key a request authenticated with, put in the request's extensions by [`authenticate`].
#[derive(Debug, Clone)]
struct Authenticated(Principal);

/// Authenticates the bearer key of a request (401 when it is missing, unknown, revoked or expired).
async fn principal_of(req: &HttpRequest) -> Result<Principal, ApiError> {
    if key_in_query(req) {
        return Err(FacadeError::Unauthorized(AuthFailure::KeyInQuery).into());
    }
    let token = bearer(req)?;
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| FacadeError::Internal("application state missing".into()))?;
    Ok(match state.gov.authenticate_cached(&token) {
        Some(principal) => principal,
        None => {
            let gov = state.gov.clone();
            blocking(move || gov.authenticate(&token)).await?
        }
    })
}

/// Middleware of every authenticated scope: a request to a known route whose key does not
/// authenticate is answered 401 here, before anything reads its body; `Authed<S>` then takes the
/// principal from the request and checks its scope. Unknown paths pass on (404).
pub async fn authenticate<B: MessageBody>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error> {
    if req.match_pattern().is_some() {
        match principal_of(req.request()).await {
            Ok(principal) => {
                req.extensions_mut().insert(Authenticated(principal));
            }
            Err(e) => return Ok(req.error_response(e).map_into_right_body()),
        }
    }
    next.call(req).await.map(ServiceResponse::map_into_left_body)
}

impl<S: RequiredScope> FromRequest for Authed<S> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let authenticated = req.extensions().get::<Authenticated>().map(|a| a.0.clone());
            let principal = match authenticated {
                Some(principal) => principal,
                None => principal_of(&req).await?,
            };
            let state = req
                .app_data::<web::Data<AppState>>()
                .ok_or_else(|| FacadeError::Internal("application state missing".into()))?;
            if !principal.allows(S::SCOPE) {
                return Err(ApiError::MissingScope { needed: S::SCOPE, granted: principal.scopes });
            }
            // The kill switch is not checked here: a production execution reads it in its own
            // transaction, so no replica grants anything once an engage is acknowledged. The
            // go-live switch may be read from the cache (at most `GO_LIVE_STALENESS` old).
            let class = state.classes.of(req.method(), req.match_pattern().unwrap_or_default());
            if class != Class::Exempt && state.go_live_enforce {
                // Fail closed: an unreadable state refuses the request (503), never lets it through.
                let levers = match state.gov.go_live_cached(principal.tenant_id) {
                    Some(levers) => levers,
                    None => {
                        let (gov, tenant) = (state.gov.clone(), principal.tenant_id);
                        blocking(move || gov.go_live(tenant)).await?
                    }
                };
                if !levers.go_live_enabled {
                    return Err(ApiError::NotLive);
                }
            }
            let caller = Caller {
                tenant_id: principal.tenant_id,
                actor: Actor::api_key(&principal, request_id(&req)),
            };
            Ok(Authed { principal, caller, _scope: PhantomData })
        })
    }
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    #[test]
    fn credentials_in_the_query_are_detected() {
        for (uri, expected) in [
            ("/x?api_key=abc", true),
            ("/x?page=1&token=abc", true),
            ("/x?q=gov_0123", true),
            ("/x?page=1&page_size=2", false),
            ("/x", false),
        ] {
            let req = TestRequest::with_uri(uri).to_http_request();
            assert_eq!(key_in_query(&req), expected, "{uri}");
        }
    }
}
