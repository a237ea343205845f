//! The harnesses' HTTP client: one `ureq::Agent` per client thread, so each thread reuses its own
//! keep-alive connection. Every status is an answer (`http_status_as_error(false)`): the
//! harnesses check the status themselves and show the body when it is not the expected one.

use std::io::Read;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use ureq::typestate::{WithBody, WithoutBody};
use ureq::{Agent, RequestBuilder};

/// How long a request may take unless `set_timeout` says otherwise.
const TIMEOUT: Duration = Duration::from_secs(30);

pub struct Client {
    agent: Agent,
    base: String,
}

pub struct Response {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Response {
    pub fn json(&self) -> Result<serde_json::Value> {
        serde_json::from_slice(&self.body).context("response is not JSON")
    }
}

/// A response read to its end without keeping its body.
pub struct Streamed {
    pub status: u16,
    pub bytes: u64,
    /// CRLF-terminated lines in the body.
    pub lines: u64,
}

/// The timeout bounds each read, as a socket's read timeout would: a global or per-call one
/// would also make ureq resolve the address on a new thread for every request.
fn agent(timeout: Duration) -> Agent {
    Agent::config_builder().http_status_as_error(false).timeout_per_read(Some(timeout)).build().into()
}

/// Whether a request failed by taking longer than the client's timeout.
pub fn timed_out(e: &anyhow::Error) -> bool {
    match e.downcast_ref::<ureq::Error>() {
        Some(ureq::Error::Timeout(_)) => true,
        Some(ureq::Error::Io(e)) => {
            matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut)
        }
        _ => false,
    }
}

impl Client {
    /// A client of the server at `addr` (`host:port`). It connects on the first request, and
    /// keeps that connection for the next ones.
    pub fn connect(addr: &str) -> Result<Client> {
        Ok(Client { agent: agent(TIMEOUT), base: format!("http://{addr}") })
    }

    /// How long a read may wait (30 s unless set). Drops the kept connection.
    pub fn set_timeout(&mut self, timeout: Duration) -> Result<()> {
        self.agent = agent(timeout);
        Ok(())
    }

    /// Sends one request and reads the whole response.
    pub fn send(
        &mut self,
        method: &str,
        path: &str,
        key: Option<&str>,
        body: Option<&str>,
    ) -> Result<Response> {
        self.send_with(method, path, key, &[], body)
    }

    /// [`Client::send`] with more request headers.
    pub fn send_with(
        &mut self,
        method: &str,
        path: &str,
        key: Option<&str>,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> Result<Response> {
        let mut res = self.call(method, path, key, headers, body)?;
        let status = res.status().as_u16();
        let body = res.body_mut().with_config().limit(u64::MAX).read_to_vec()?;
        Ok(Response { status, body })
    }

    /// Sends one request and reads the response to its end, counting its bytes and lines
    /// instead of keeping them.
    pub fn send_streamed(
        &mut self,
        method: &str,
        path: &str,
        key: Option<&str>,
        body: Option<&str>,
    ) -> Result<Streamed> {
        let res = self.call(method, path, key, &[], body)?;
        let mut out = Streamed { status: res.status().as_u16(), bytes: 0, lines: 0 };
        let mut reader = res.into_body().into_with_config().limit(u64::MAX).reader();
        let (mut buf, mut last) = (vec![0; 64 * 1024], 0u8);
        loop {
            let n = reader.read(&mut buf)?;
            if n == 0 {
                return Ok(out);
            }
            for &b in &buf[..n] {
                if b == b'\n' && last == b'\r' {
                    out.lines += 1;
                }
                last = b;
            }
            out.bytes += n as u64;
        }
    }

    fn call(
        &self,
        method: &str,
        path: &str,
        key: Option<&str>,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> Result<ureq::http::Response<ureq::Body>> {
        let url = format!("{}{path}", self.base);
        let res = match (method, body) {
            ("GET", None) => with_headers::<WithoutBody>(self.agent.get(&url), key, headers).call(),
            ("POST", Some(body)) => with_headers::<WithBody>(self.agent.post(&url), key, headers)
                .content_type("application/json")
                .send(body.as_bytes()),
            ("POST", None) => with_headers::<WithBody>(self.agent.post(&url), key, headers).send_empty(),
            (method, _) => bail!("the harness client sends GET (without a body) and POST, not {method}"),
        };
        res.with_context(|| format!("{method} {path}"))
    }
}

fn with_headers<B>(
    mut request: RequestBuilder<B>,
    key: Option<&str>,
    headers: &[(&str, &str)],
) -> RequestBuilder<B> {
    if let Some(key) = key {
        request = request.header("Authorization", format!("Bearer {key}"));
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request
}
