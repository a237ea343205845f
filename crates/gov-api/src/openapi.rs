//! The OpenAPI document's error responses, derived from facts about each operation rather than
//! listed by hand on every handler: an operation that needs a key can answer 401 and 403, one
//! that reads a body 400, 413, 415 and 422, and so on. Every error status points to one shared
//! response in `components/responses`, whose body is `ErrorBody`. The paging parameters get the
//! bounds `PageQuery::request` enforces, wherever a list declares them.

use std::collections::BTreeSet;

use utoipa::openapi::Required;
use utoipa::openapi::path::{Operation, Parameter, ParameterIn};
use utoipa::openapi::request_body::RequestBody;
use utoipa::openapi::response::Response;
use utoipa::openapi::schema::Schema;
use utoipa::openapi::schema::SchemaType;
use utoipa::openapi::{ContentBuilder, HeaderBuilder, OpenApi, Ref, RefOr, Type};
use utoipa::openapi::{ObjectBuilder, ResponseBuilder};

use crate::guard::Class;

/// One error status, its shared response's name and what it means.
struct ErrorResponse {
    status: u16,
    name: &'static str,
    description: &'static str,
}

const ERRORS: &[ErrorResponse] = &[
    ErrorResponse {
        status: 400,
        name: "MalformedRequest",
        description: "`malformed_request`: the body is not syntactically valid JSON (or form data).",
    },
    ErrorResponse {
        status: 401,
        name: "Unauthorized",
        description: "`unauthorized`: no or malformed `Authorization: Bearer` header, an unknown, revoked, \
                      rotated-away or expired key, or a credential in the query string.",
    },
    ErrorResponse {
        status: 403,
        name: "Forbidden",
        description: "`forbidden`: the key lacks the operation's scope; `go_live_disabled`: the tenant is \
                      not live and this server enforces go-live (requests that change production state).",
    },
    ErrorResponse {
        status: 404,
        name: "NotFound",
        description: "`not_found`: nothing of that id in the caller's tenant (an id that is not a UUID \
                      names nothing).",
    },
    ErrorResponse {
        status: 409,
        name: "Conflict",
        description: "`conflict`: the request does not fit the resource's current state; \
                      `kill_switch_engaged`: the kill switch is engaged and this request executes in \
                      production.",
    },
    ErrorResponse {
        status: 413,
        name: "PayloadTooLarge",
        description: "`payload_too_large`: the body exceeds the server's limit (`details.limit_bytes`).",
    },
    ErrorResponse {
        status: 415,
        name: "UnsupportedMediaType",
        description: "`unsupported_media_type`: the body is not sent as a content type this operation \
                      reads.",
    },
    ErrorResponse {
        status: 422,
        name: "ValidationFailed",
        description: "`validation_failed`: a field or query parameter is missing, unknown, of the wrong \
                      type or out of range (`details.field` names it when one is to blame).",
    },
    ErrorResponse {
        status: 429,
        name: "RateLimited",
        description: "`rate_limited`: refused for now; retry after `Retry-After` seconds \
                      (`details.retry_after_secs`).",
    },
    ErrorResponse {
        status: 503,
        name: "Unavailable",
        description: "`unavailable`: the database could not be reached in time; nothing was changed.",
    },
];

/// Adds the shared error responses to `components` and points every error status each
/// operation can answer at them.
pub fn add_error_responses(api: &mut OpenApi) {
    let components = api.components.get_or_insert_with(Default::default);
    for error in ERRORS {
        components.responses.insert(error.name.to_owned(), RefOr::T(shared_response(error)));
    }
    for item in api.paths.paths.values_mut() {
        let operations = [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch];
        for operation in operations.into_iter().flatten() {
            for parameter in operation.parameters.iter_mut().flatten() {
                bound_paging(parameter);
            }
            if let Some(body) = operation.request_body.as_mut() {
                optional_body_is_absent_not_null(body);
            }
            let statuses = error_statuses(operation);
            for error in ERRORS.iter().filter(|e| statuses.contains(&e.status)) {
                let reference = Ref::from_response_name(error.name);
                operation.responses.responses.insert(error.status.to_string(), RefOr::Ref(reference));
            }
        }
    }
}

/// The error statuses an operation can answer: those its annotation lists, plus those that
/// follow from what it takes (a key, a body, a path id, query parameters) and its execution class.
fn error_statuses(operation: &Operation) -> BTreeSet<u16> {
    let mut statuses: BTreeSet<u16> = operation
        .responses
        .responses
        .keys()
        .filter_map(|status| status.parse::<u16>().ok())
        .filter(|status| *status >= 400)
        .collect();
    let keyed = operation.security.as_ref().is_some_and(|s| !s.is_empty());
    if keyed {
        // Authentication reads the key (and the go-live state) from the database.
        statuses.extend([401, 403, 503]);
        if Class::declared(operation) == Some(Class::ProdExec) {
            statuses.insert(409);
        }
    }
    if operation.request_body.is_some() {
        statuses.extend([400, 413, 415, 422]);
    }
    let parameters = operation.parameters.iter().flatten();
    for parameter in parameters {
        match parameter.parameter_in {
            ParameterIn::Path => statuses.insert(404),
            ParameterIn::Query => statuses.insert(422),
            _ => false,
        };
    }
    statuses
}

/// utoipa renders an optional body (`request_body = Option<T>`) as `oneOf: [null, T]`; the server
/// reads an empty body as no body and refuses a JSON `null`, so the schema is `T`, not required.
fn optional_body_is_absent_not_null(body: &mut RequestBody) {
    if body.required == Some(Required::True) {
        return;
    }
    for content in body.content.values_mut() {
        if let Some(RefOr::T(Schema::OneOf(one_of))) = &content.schema {
            let mut rest = one_of.items.iter().filter(|item| !is_null(item));
            if let (Some(only), None) = (rest.next(), rest.next()) {
                content.schema = Some(only.clone());
            }
        }
    }
}

fn is_null(schema: &RefOr<Schema>) -> bool {
    matches!(schema, RefOr::T(Schema::Object(o)) if o.schema_type == SchemaType::Type(Type::Null))
}

/// `page >= 1` and `1 <= page_size <= MAX_PAGE_SIZE`, as every list reads them.
fn bound_paging(parameter: &mut Parameter) {
    if parameter.parameter_in != ParameterIn::Query {
        return;
    }
    let (description, maximum) = match parameter.name.as_str() {
        "page" => ("1-based page number (default 1).", u32::MAX),
        "page_size" => ("Items per page (default 50).", gov_model::MAX_PAGE_SIZE),
        _ => return,
    };
    let schema = ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(1)).maximum(Some(maximum));
    parameter.schema = Some(RefOr::T(Schema::Object(schema.build())));
    parameter.description = Some(description.to_owned());
}

fn shared_response(error: &ErrorResponse) -> Response {
    let body = ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build();
    let mut response =
        ResponseBuilder::new().description(error.description).content("application/json", body);
    let integer = || ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(0)).build();
    let string = || ObjectBuilder::new().schema_type(Type::String).build();
    match error.status {
        401 => {
            let header = HeaderBuilder::new().schema(string()).description(Some("`Bearer`")).build();
            response = response.header("www-authenticate", header);
        }
        429 => {
            let header = HeaderBuilder::new().schema(integer()).description(Some("Seconds to wait.")).build();
            response = response.header("retry-after", header);
        }
        _ => {}
    }
    response.build()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::Value;

    /// The served document, as JSON.
    fn document() -> Value {
        serde_json::to_value(crate::startup::openapi()).unwrap()
    }

    /// `(method, path, operation)` of every operation.
    fn operations(doc: &Value) -> Vec<(String, String, Value)> {
        let mut all = Vec::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap() {
                all.push((method.to_uppercase(), path.clone(), operation.clone()));
            }
        }
        all
    }

    fn statuses(operation: &Value) -> Vec<&str> {
        operation["responses"].as_object().unwrap().keys().map(String::as_str).collect()
    }

    #[test]
    fn operation_ids_are_present_and_unique() {
        let doc = document();
        let mut seen = BTreeMap::new();
        for (method, path, operation) in operations(&doc) {
            let id = operation["operationId"].as_str().unwrap_or_else(|| panic!("{method} {path}: no id"));
            if let Some(other) = seen.insert(id.to_owned(), format!("{method} {path}")) {
                panic!("operation id {id:?} is used by {other} and {method} {path}");
            }
        }
    }

    #[test]
    fn every_operation_documents_the_errors_it_can_answer() {
        let doc = document();
        for (method, path, operation) in operations(&doc) {
            let has = statuses(&operation);
            let keyed = operation["security"].as_array().is_some_and(|s| !s.is_empty());
            let mut expected = Vec::new();
            if keyed {
                expected.extend(["401", "403", "503"]);
            }
            if operation.get("requestBody").is_some() {
                expected.extend(["400", "413", "415", "422"]);
            }
            let parameters = operation["parameters"].as_array().cloned().unwrap_or_default();
            if parameters.iter().any(|p| p["in"] == "path") {
                expected.push("404");
            }
            if parameters.iter().any(|p| p["in"] == "query") {
                expected.push("422");
            }
            for status in expected {
                assert!(has.contains(&status), "{method} {path} does not document {status}: {has:?}");
            }
        }
    }

    #[test]
    fn every_operation_under_the_api_needs_a_key() {
        for (method, path, operation) in operations(&document()) {
            if path.starts_with("/api/v1/") || path.starts_with("/api/governance/") {
                assert!(operation["security"].as_array().is_some_and(|s| !s.is_empty()), "{method} {path}");
            }
        }
    }

    #[test]
    fn production_execution_documents_the_kill_switch_and_the_throttle() {
        let doc = document();
        let start = &doc["paths"]["/api/v1/runs"]["post"];
        assert!(statuses(start).contains(&"409") && statuses(start).contains(&"429"), "{start}");
        let reserve = &doc["paths"]["/api/governance/risk/check-and-reserve"]["post"];
        assert!(statuses(reserve).contains(&"409"), "{reserve}");
    }

    #[test]
    fn error_responses_share_one_body_whose_details_are_an_object() {
        let doc = document();
        for (method, path, operation) in operations(&doc) {
            for (status, response) in operation["responses"].as_object().unwrap() {
                if status.as_str() >= "400" {
                    let reference = response["$ref"].as_str().unwrap_or_default();
                    assert!(reference.starts_with("#/components/responses/"), "{method} {path} {status}");
                }
            }
        }
        let detail = &doc["components"]["schemas"]["ErrorDetail"];
        assert_eq!(detail["properties"]["details"]["type"], "object", "{detail}");
        assert!(detail["required"].as_array().unwrap().contains(&"details".into()), "{detail}");
    }
}
