//! Request bodies before any extractor sees them. The body is read here, once, decoded while it
//! streams in (`Content-Encoding: gzip` or `deflate`), with the size limit applied to the bytes
//! received and to the bytes decoded, so a compression bomb costs at most the limit. Then strings
//! holding U+0000 are refused, in the body, the query string and the path: PostgreSQL text cannot
//! store the character, and both backends must answer alike (422 naming the field).

use std::io::{self, Write};
use std::pin::Pin;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header::{CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE, HeaderValue};
use actix_web::middleware::Next;
use actix_web::web::{self, Bytes};
use actix_web::{Error, HttpMessage};
use futures_core::Stream;
use serde_json::Value;

use crate::error::ApiError;
use crate::state::AppState;

/// Reads, decodes and checks the body, the query string and the path, then hands the plain body
/// to the handler's extractors (which see neither `Content-Encoding` nor a compressed length).
pub async fn prepare<B: MessageBody>(
    mut req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, Error> {
    let limit = req.app_data::<web::Data<AppState>>().map_or(0, |s| s.max_body_bytes);
    let checked = async {
        check_url(&req)?;
        let body = read(&mut req, limit).await?;
        check_body(&req, &body)?;
        Ok::<_, ApiError>(body)
    };
    let body = match checked.await {
        Ok(body) => body,
        Err(e) => return Ok(req.error_response(e).map_into_right_body()),
    };
    let headers = req.headers_mut();
    headers.remove(CONTENT_ENCODING);
    headers.insert(CONTENT_LENGTH, HeaderValue::from(body.len()));
    req.set_payload(Payload::from(body));
    next.call(req).await.map(ServiceResponse::map_into_left_body)
}

/// The body codings gov decodes (RFC 9110 `Content-Encoding`); anything else is 415.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Coding {
    Identity,
    Gzip,
    /// HTTP's "deflate" is the zlib format (RFC 1950), not raw deflate.
    Deflate,
}

impl std::fmt::Display for Coding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Coding::Identity => "identity",
            Coding::Gzip => "gzip",
            Coding::Deflate => "deflate",
        })
    }
}

fn coding(req: &ServiceRequest) -> Result<Coding, ApiError> {
    let Some(value) = req.headers().get(CONTENT_ENCODING) else {
        return Ok(Coding::Identity);
    };
    let unsupported = || {
        ApiError::UnsupportedMediaType(
            "Content-Encoding must be one of gzip, deflate or identity (one coding)".to_owned(),
        )
    };
    let name = value.to_str().map_err(|_| unsupported())?.trim().to_ascii_lowercase();
    match name.as_str() {
        "" | "identity" => Ok(Coding::Identity),
        "gzip" | "x-gzip" => Ok(Coding::Gzip),
        "deflate" => Ok(Coding::Deflate),
        _ => Err(unsupported()),
    }
}

/// Decoded bytes, refusing to grow beyond the limit: the decoder stops at the first write past it.
struct Capped {
    buf: Vec<u8>,
    limit: usize,
    overflowed: bool,
}

impl Write for Capped {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.buf.len() + data.len() > self.limit {
            self.overflowed = true;
            return Err(io::Error::other("decoded body exceeds the limit"));
        }
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

enum Decoder {
    Identity(Capped),
    Gzip(flate2::write::MultiGzDecoder<Capped>),
    Deflate(flate2::write::ZlibDecoder<Capped>),
}

impl Decoder {
    fn new(coding: Coding, limit: usize) -> Self {
        let out = Capped { buf: Vec::new(), limit, overflowed: false };
        match coding {
            Coding::Identity => Decoder::Identity(out),
            Coding::Gzip => Decoder::Gzip(flate2::write::MultiGzDecoder::new(out)),
            Coding::Deflate => Decoder::Deflate(flate2::write::ZlibDecoder::new(out)),
        }
    }

    fn output(&self) -> &Capped {
        match self {
            Decoder::Identity(out) => out,
            Decoder::Gzip(d) => d.get_ref(),
            Decoder::Deflate(d) => d.get_ref(),
        }
    }

    /// What went wrong, once a write or the final flush failed.
    fn failure(&self, e: io::Error) -> Failure {
        if self.output().overflowed { Failure::TooLarge } else { Failure::Corrupt(e) }
    }

    fn feed(&mut self, chunk: &[u8]) -> Result<(), Failure> {
        let written = match self {
            Decoder::Identity(out) => out.write_all(chunk),
            Decoder::Gzip(d) => d.write_all(chunk),
            Decoder::Deflate(d) => d.write_all(chunk),
        };
        written.map_err(|e| self.failure(e))
    }

    /// Flushes the decoder and checks the stream's end (a truncated gzip member is corrupt).
    fn finish(mut self) -> Result<Vec<u8>, Failure> {
        let flushed = match &mut self {
            Decoder::Identity(_) => Ok(()),
            Decoder::Gzip(d) => d.try_finish(),
            Decoder::Deflate(d) => d.try_finish(),
        };
        flushed.map_err(|e| self.failure(e))?;
        let out = match &mut self {
            Decoder::Identity(out) => out,
            Decoder::Gzip(d) => d.get_mut(),
            Decoder::Deflate(d) => d.get_mut(),
        };
        Ok(std::mem::take(&mut out.buf))
    }
}

enum Failure {
    TooLarge,
    Corrupt(io::Error),
}

/// The whole body, decoded; 413 as soon as more than `limit` bytes arrive or are decoded.
async fn read(req: &mut ServiceRequest, limit: usize) -> Result<Bytes, ApiError> {
    let coding = coding(req)?;
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(ApiError::TooLarge { limit });
    }
    let mut payload = req.take_payload();
    let mut decoder = Decoder::new(coding, limit);
    let mut received = 0usize;
    let failed = |f: Failure| match f {
        Failure::TooLarge => ApiError::TooLarge { limit },
        Failure::Corrupt(e) => ApiError::Malformed(format!("the body is not valid {coding} data: {e}")),
    };
    while let Some(chunk) = std::future::poll_fn(|cx| Pin::new(&mut payload).poll_next(cx)).await {
        let chunk = chunk.map_err(|e| ApiError::Malformed(format!("reading the body: {e}")))?;
        received += chunk.len();
        if received > limit {
            return Err(ApiError::TooLarge { limit });
        }
        decoder.feed(&chunk).map_err(failed)?;
    }
    decoder.finish().map(Bytes::from).map_err(failed)
}

/// Where in a request a string holding U+0000 was found.
fn nul_in(field: &str) -> ApiError {
    ApiError::validation(field, format!("{field} must not contain U+0000 (NUL)"))
}

/// Query parameters and path segments (`%00`).
fn check_url(req: &ServiceRequest) -> Result<(), ApiError> {
    let query = req.query_string();
    if query.contains("%00") {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap_or_default();
        if let Some((key, _)) = pairs.iter().find(|(k, v)| k.contains('\0') || v.contains('\0')) {
            return Err(nul_in(&printable(key)));
        }
    }
    let path = req.uri().path();
    if path.contains("%00") {
        let pattern = req.match_pattern().unwrap_or_default();
        let segment = path.split('/').position(|s| s.contains("%00"));
        let field = segment.and_then(|i| pattern.split('/').nth(i)).and_then(|p| {
            let name = p.strip_prefix('{')?.strip_suffix('}')?;
            Some(name.split(':').next().unwrap_or(name).to_owned())
        });
        return Err(match field {
            Some(field) => nul_in(&field),
            None => ApiError::RouteNotFound,
        });
    }
    Ok(())
}

/// A field name that itself holds U+0000, shown with the escape.
fn printable(name: &str) -> String {
    name.replace('\0', "\\u0000")
}

/// JSON (`\u0000` escapes; a raw NUL is not valid JSON) and form bodies (`%00` or a raw NUL). The
/// body is only parsed here when it contains one of those, so ordinary requests pay a byte scan.
fn check_body(req: &ServiceRequest, body: &[u8]) -> Result<(), ApiError> {
    let form = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().to_ascii_lowercase().starts_with("application/x-www-form-urlencoded"));
    if form {
        if contains(body, b"%00") || body.contains(&0) {
            let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body).unwrap_or_default();
            if let Some((key, _)) = pairs.iter().find(|(k, v)| k.contains('\0') || v.contains('\0')) {
                return Err(nul_in(&printable(key)));
            }
        }
    } else if contains(body, b"\\u0000")
        && let Ok(value) = serde_json::from_slice::<Value>(body)
        && let Some(field) = nul_path(&value, "")
    {
        return Err(nul_in(&field));
    }
    Ok(())
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The path (`metadata.key`, `limits[0].name`) of the first string or key holding U+0000; a key
/// holding it is reported as the object's path (or `body` at the top).
fn nul_path(value: &Value, at: &str) -> Option<String> {
    let here = || if at.is_empty() { "body".to_owned() } else { at.to_owned() };
    match value {
        Value::String(s) if s.contains('\0') => Some(here()),
        Value::Array(items) => items.iter().enumerate().find_map(|(i, v)| nul_path(v, &format!("{at}[{i}]"))),
        Value::Object(map) => map.iter().find_map(|(k, v)| {
            if k.contains('\0') {
                return Some(here());
            }
            nul_path(v, &if at.is_empty() { k.clone() } else { format!("{at}.{k}") })
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(json: &str, expected: Option<&str>) {
        let value: Value = serde_json::from_str(json).expect("test JSON");
        assert_eq!(nul_path(&value, "").as_deref(), expected, "{json}");
    }

    #[test]
    fn nul_paths() {
        check(r#"{"name": "a\u0000b"}"#, Some("name"));
        check(r#"{"name": "a\\u0000b"}"#, None);
        check(r#"{"metadata": {"k": ["x", "\u0000"]}}"#, Some("metadata.k[1]"));
        check(r#"{"metadata": {"k\u0000": 1}}"#, Some("metadata"));
        check(r#"{"k\u0000": 1}"#, Some("body"));
        check(r#""\u0000""#, Some("body"));
        check(r#"{"limits": [{"name": "ok"}, {"name": "\u0000"}]}"#, Some("limits[1].name"));
        check(r#"{"n": 1, "b": true, "z": null}"#, None);
    }

    fn decode(coding: Coding, data: &[u8], limit: usize) -> Result<Vec<u8>, &'static str> {
        let mut d = Decoder::new(coding, limit);
        let outcome = data.chunks(7).try_for_each(|chunk| d.feed(chunk)).and_then(|()| d.finish());
        outcome.map_err(|f| match f {
            Failure::TooLarge => "too large",
            Failure::Corrupt(_) => "corrupt",
        })
    }

    #[test]
    fn decoding_is_capped() {
        use flate2::write::{GzEncoder, ZlibEncoder};
        let plain = vec![b'a'; 10_000];
        let mut gz = GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&plain).unwrap();
        let gz = gz.finish().unwrap();
        let mut zl = ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        zl.write_all(&plain).unwrap();
        let zl = zl.finish().unwrap();
        assert_eq!(decode(Coding::Gzip, &gz, 10_000), Ok(plain.clone()));
        assert_eq!(decode(Coding::Gzip, &gz, 9_999), Err("too large"));
        assert_eq!(decode(Coding::Deflate, &zl, 10_000), Ok(plain.clone()));
        assert_eq!(decode(Coding::Deflate, &zl, 5_000), Err("too large"));
        assert_eq!(decode(Coding::Gzip, &zl, 10_000), Err("corrupt"));
        assert_eq!(decode(Coding::Gzip, &gz[..gz.len() - 4], 10_000), Err("corrupt"));
        assert_eq!(decode(Coding::Identity, &plain, 10_000), Ok(plain.clone()));
        assert_eq!(decode(Coding::Identity, &plain, 10), Err("too large"));
    }
}
