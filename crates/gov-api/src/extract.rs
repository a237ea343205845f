//! Request extractors and their error mapping: bodies, paths and query strings all fail as
//! JSON errors with the right status (400 malformed, 413 too large, 415, 422 invalid, 404 bad id).

use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::{HttpMessage, HttpRequest, web};

use crate::state::AppState;
use gov_model::{PageRequest, SortDirection};
use serde::Deserialize;

use crate::error::ApiError;

/// JSON bodies: size-capped, sent as `application/json` (or a `+json` type); anything else is 415.
pub fn json_config(limit: usize) -> web::JsonConfig {
    web::JsonConfig::default().limit(limit).error_handler(move |err, _req| json_error(err, limit).into())
}

fn json_error(err: JsonPayloadError, limit: usize) -> ApiError {
    match err {
        JsonPayloadError::Overflow { .. } | JsonPayloadError::OverflowKnownLength { .. } => {
            ApiError::TooLarge { limit }
        }
        JsonPayloadError::ContentType => {
            ApiError::UnsupportedMediaType("send the body as application/json".to_owned())
        }
        JsonPayloadError::Deserialize(e) => json_body_error(e),
        other => ApiError::Malformed(other.to_string()),
    }
}

/// A body that may be empty: `None` when it is, otherwise JSON with the same error rules as
/// `web::Json` (400 malformed, 422 wrong fields).
pub fn optional_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<Option<T>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    json_object(body).map(Some)
}

/// A JSON body that must be an object: serde would also read a struct from an array of its
/// fields in order (`[null, null]`), which the documented schema does not allow.
fn json_object<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let value = serde_json::from_slice(body).map_err(json_body_error)?;
    if body.trim_ascii_start().first() != Some(&b'{') {
        return Err(ApiError::validation("body", "must be a JSON object"));
    }
    Ok(value)
}

/// A JSON body that does not parse: syntax errors are 400, wrong or unknown fields 422.
fn json_body_error(e: serde_json::Error) -> ApiError {
    if e.is_data() {
        ApiError::Validation {
            message: e.to_string(),
            details: serde_json::json!({ "line": e.line(), "column": e.column() }),
        }
    } else {
        ApiError::Malformed(e.to_string())
    }
}

/// A path segment that does not parse (e.g. an id that is not a UUID) names nothing: 404.
pub fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|_err: PathError, _req| ApiError::RouteNotFound.into())
}

pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|err: QueryPayloadError, _req| {
        ApiError::Validation {
            message: format!("invalid query string: {err}"),
            details: serde_json::Value::Null,
        }
        .into()
    })
}

/// `?page=&page_size=&cursor=` of every list endpoint.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct PageQuery {
    /// 1-based page number (default 1). Ignored when `cursor` is given.
    pub page: Option<u32>,
    /// Items per page, 1..=200 (default 50).
    pub page_size: Option<u32>,
    /// The `pagination.next_cursor` of the previous page: the next page starts after it, and
    /// costs what page 1 costs (keyset paging).
    #[param(value_type = Option<crate::schema::Cursor>)]
    pub cursor: Option<String>,
}

impl PageQuery {
    pub fn request(&self) -> Result<PageRequest, ApiError> {
        let default = PageRequest::default();
        let page_size = self.page_size.unwrap_or(default.page_size());
        let bad_size = || {
            ApiError::validation(
                "page_size",
                format!("page must be >= 1 and page_size within 1..={}", gov_model::MAX_PAGE_SIZE),
            )
        };
        match &self.cursor {
            Some(token) => {
                let cursor = crate::cursor::decode(token).ok_or_else(|| {
                    ApiError::validation(
                        "cursor",
                        "not a cursor this server issued (use pagination.next_cursor)",
                    )
                })?;
                PageRequest::after(cursor, page_size).ok_or_else(bad_size)
            }
            None => PageRequest::new(self.page.unwrap_or(default.page()), page_size).ok_or_else(bad_size),
        }
    }
}

/// A request field (query or body) parsed into `T`; one that does not parse is 422 naming the field.
pub fn parse_field<T>(field: &str, value: Option<&str>) -> Result<Option<T>, ApiError>
where
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    value.map(|v| v.parse::<T>().map_err(|e| ApiError::validation(field, e.to_string()))).transpose()
}

/// `asc` / `desc`.
pub fn direction(value: Option<&str>) -> Result<SortDirection, ApiError> {
    match value {
        None => Ok(SortDirection::default()),
        Some("asc") => Ok(SortDirection::Asc),
        Some("desc") => Ok(SortDirection::Desc),
        Some(other) => Err(ApiError::validation("direction", format!("{other:?} is not asc or desc"))),
    }
}

/// The request id the `observe` middleware assigned.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

pub fn request_id(req: &HttpRequest) -> Option<String> {
    req.extensions().get::<RequestId>().map(|r| r.0.clone())
}

/// A body sent as JSON or as an HTML form (`application/x-www-form-urlencoded`, what `curl -d`
/// sends): the governance endpoints take both, so the seed's curl commands work as written.
/// Errors follow the JSON rules: 400 malformed, 413 too large, 415 other types, 422 bad fields.
pub struct Input<T>(pub T);

impl<T: serde::de::DeserializeOwned + 'static> actix_web::FromRequest for Input<T> {
    type Error = ApiError;
    type Future = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        let req = req.clone();
        let limit = req.app_data::<web::Data<AppState>>().map_or(0, |s| s.max_body_bytes);
        let bytes = web::Bytes::from_request(&req, payload);
        Box::pin(async move {
            let body = bytes.await.map_err(|e| {
                if e.as_response_error().status_code() == actix_web::http::StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::TooLarge { limit }
                } else {
                    ApiError::Malformed(e.to_string())
                }
            })?;
            let form = req
                .headers()
                .get(actix_web::http::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(|v| v.split(';').next().unwrap_or("").trim().to_ascii_lowercase());
            match form.as_deref() {
                Some("application/x-www-form-urlencoded") => {
                    serde_urlencoded::from_bytes(&body).map(Input).map_err(|e| ApiError::Validation {
                        message: e.to_string(),
                        details: serde_json::Value::Null,
                    })
                }
                None | Some("application/json") => {
                    let text = if body.iter().all(u8::is_ascii_whitespace) { &b"{}"[..] } else { &body[..] };
                    json_object(text).map(Input)
                }
                Some(other) => Err(ApiError::UnsupportedMediaType(format!(
                    "{other}: send application/json or application/x-www-form-urlencoded"
                ))),
            }
        })
    }
}
