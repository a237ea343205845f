//! A minimal HTTP/1.1 client over one keep-alive `TcpStream`, enough to drive gov's JSON API
//! from the load harness without pulling an async HTTP stack into xtask.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use anyhow::{Context, Result, bail};

pub struct Client {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    host: String,
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

impl Client {
    pub fn connect(addr: &str) -> Result<Client> {
        let stream = TcpStream::connect(addr).with_context(|| format!("connecting to {addr}"))?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        Ok(Client { reader: BufReader::new(stream.try_clone()?), writer: stream, host: addr.to_owned() })
    }

    /// How long a read may wait (30 s from `connect`).
    pub fn set_timeout(&mut self, timeout: Duration) -> Result<()> {
        self.writer.set_read_timeout(Some(timeout))?;
        Ok(())
    }

    /// Sends one request and reads the whole response (which must carry a Content-Length).
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
        let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {}\r\n", self.host);
        if let Some(key) = key {
            head.push_str(&format!("Authorization: Bearer {key}\r\n"));
        }
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        let body = body.unwrap_or("");
        if !body.is_empty() {
            head.push_str("Content-Type: application/json\r\n");
        }
        head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
        self.writer.write_all(head.as_bytes())?;
        self.writer.write_all(body.as_bytes())?;

        let mut line = String::new();
        self.reader.read_line(&mut line)?;
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .with_context(|| format!("bad status line {line:?}"))?;
        let mut length = None;
        loop {
            line.clear();
            self.reader.read_line(&mut line)?;
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse::<usize>().ok();
            }
        }
        let Some(length) = length else { bail!("response without Content-Length") };
        let mut body = vec![0; length];
        self.reader.read_exact(&mut body)?;
        Ok(Response { status, body })
    }

    /// Sends one request and reads a chunked (or Content-Length) response to its end, counting
    /// its bytes and lines instead of keeping them.
    pub fn send_streamed(
        &mut self,
        method: &str,
        path: &str,
        key: Option<&str>,
        body: Option<&str>,
    ) -> Result<Streamed> {
        let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {}\r\n", self.host);
        if let Some(key) = key {
            head.push_str(&format!("Authorization: Bearer {key}\r\n"));
        }
        let body = body.unwrap_or("");
        head.push_str(&format!("Content-Type: application/json\r\nContent-Length: {}\r\n\r\n", body.len()));
        self.writer.write_all(head.as_bytes())?;
        self.writer.write_all(body.as_bytes())?;
        let mut line = String::new();
        self.reader.read_line(&mut line)?;
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .with_context(|| format!("bad status line {line:?}"))?;
        let (mut length, mut chunked) = (None, false);
        loop {
            line.clear();
            self.reader.read_line(&mut line)?;
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse::<u64>().ok();
                } else if name.eq_ignore_ascii_case("transfer-encoding") {
                    chunked = value.trim().eq_ignore_ascii_case("chunked");
                }
            }
        }
        let mut out = Streamed { status, bytes: 0, lines: 0 };
        let mut buf = vec![0; 64 * 1024];
        let mut last = 0u8;
        let mut take = |reader: &mut BufReader<TcpStream>, mut n: u64, out: &mut Streamed| -> Result<()> {
            while n > 0 {
                let want = n.min(buf.len() as u64) as usize;
                reader.read_exact(&mut buf[..want])?;
                for &b in &buf[..want] {
                    if b == b'\n' && last == b'\r' {
                        out.lines += 1;
                    }
                    last = b;
                }
                out.bytes += want as u64;
                n -= want as u64;
            }
            Ok(())
        };
        if chunked {
            loop {
                line.clear();
                self.reader.read_line(&mut line)?;
                let size = u64::from_str_radix(line.trim_end().split(';').next().unwrap_or(""), 16)
                    .with_context(|| format!("bad chunk size {line:?}"))?;
                if size == 0 {
                    line.clear();
                    self.reader.read_line(&mut line)?;
                    break;
                }
                take(&mut self.reader, size, &mut out)?;
                line.clear();
                self.reader.read_line(&mut line)?;
            }
        } else {
            let Some(length) = length else { bail!("response neither chunked nor with Content-Length") };
            take(&mut self.reader, length, &mut out)?;
        }
        Ok(out)
    }
}
