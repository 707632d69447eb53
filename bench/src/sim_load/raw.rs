//! The lean load generator: HTTP/1.1 by hand on one keep-alive `TcpStream` per connection, as wrk or oha
//! would drive a real server. The request is prebuilt except its email (and so its `Content-Length`); the
//! answer is read whole (status line, headers, a `Content-Length` body) and checked: status 200, and a
//! body naming the invited email, a user id and one access per requested door, so the user was created.
//! Nothing else is parsed.

use std::fmt::Write as _;
use std::time::Instant;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{Connection, Shared, Target};

/// One connection: invites `load-<connection>-<i>@example.com` for i = 1, 2, … until told to stop.
pub async fn run(connection: usize, target: &Target, shared: &Shared) -> Connection {
    let mut latencies_us = Vec::new();
    let error = match session(connection, target, shared, &mut latencies_us).await {
        Ok(()) => None,
        Err(error) => {
            // A broken connection ends this task; the run fails (`drive` reports the first error).
            shared.failed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            Some(error)
        }
    };
    (error, latencies_us)
}

async fn session(
    connection: usize,
    target: &Target,
    shared: &Shared,
    latencies_us: &mut Vec<u64>,
) -> Result<(), String> {
    let mut stream = TcpStream::connect(target.addr).await.map_err(|e| format!("connect: {e}"))?;
    stream.set_nodelay(true).map_err(|e| e.to_string())?;
    let head = format!(
        "POST /access/sdk/v2/users HTTP/1.1\r\nhost: {}\r\nauthorization: Bearer {}\r\n\
         content-type: application/json\r\naccept: application/json\r\ncontent-length: ",
        target.addr, target.token
    );
    let mut request = String::with_capacity(2048);
    let mut email = String::with_capacity(64);
    let mut expect = String::with_capacity(96);
    let mut answer = Vec::with_capacity(8192);
    for i in 1u64.. {
        email.clear();
        let _ = write!(email, "load-{connection}-{i}@example.com");
        let length = target.body.0.len() + email.len() + target.body.1.len();
        request.clear();
        let _ = write!(request, "{head}{length}\r\n\r\n{}{email}{}", target.body.0, target.body.1);
        let sent = Instant::now();
        stream.write_all(request.as_bytes()).await.map_err(|e| format!("write: {e}"))?;
        let body = read_answer(&mut stream, &mut answer).await?;
        expect.clear();
        let _ = write!(expect, "\"email\":\"{email}\"");
        let created = contains(body, expect.as_bytes())
            && contains(body, b"\"userUuid\":\"")
            && count(body, b"\"doorUuid\":\"") == target.doors;
        if !created {
            return Err(format!("200 without the created user {email}: {}", String::from_utf8_lossy(body)));
        }
        if !shared.record(true, sent, latencies_us) {
            break;
        }
    }
    Ok(())
}

/// Reads one whole answer into `buffer` and returns its body if the status is 200.
async fn read_answer<'a>(stream: &mut TcpStream, buffer: &'a mut Vec<u8>) -> Result<&'a [u8], String> {
    buffer.clear();
    let head_end = loop {
        if let Some(at) = find(buffer, b"\r\n\r\n") {
            break at + 4;
        }
        fill(stream, buffer).await?;
    };
    let head = std::str::from_utf8(&buffer[..head_end]).map_err(|_| "the answer's head is not text")?;
    let mut lines = head.split("\r\n");
    let status = lines.next().and_then(|line| line.strip_prefix("HTTP/1.1 ")).and_then(|rest| rest.get(..3));
    let status = status.ok_or_else(|| format!("not an HTTP/1.1 answer: {head:?}"))?.to_owned();
    let length = lines
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, value)| value.trim().parse::<usize>().ok())
        .ok_or_else(|| format!("an answer without Content-Length (status {status})"))?;
    while buffer.len() < head_end + length {
        fill(stream, buffer).await?;
    }
    if buffer.len() > head_end + length {
        return Err("bytes after the answer (nothing was pipelined)".into());
    }
    let body = &buffer[head_end..];
    if status != "200" {
        return Err(format!("{status}: {}", String::from_utf8_lossy(body)));
    }
    Ok(body)
}

/// Reads what the socket has into the end of `buffer`; the server closing the connection is an error.
async fn fill(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> Result<(), String> {
    buffer.reserve(4096);
    match stream.read_buf(buffer).await {
        Ok(0) => Err("the server closed the connection".into()),
        Ok(_) => Ok(()),
        Err(e) => Err(format!("read: {e}")),
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|window| window == needle)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    find(haystack, needle).is_some()
}

fn count(haystack: &[u8], needle: &[u8]) -> usize {
    haystack.windows(needle.len()).filter(|window| *window == needle).count()
}
