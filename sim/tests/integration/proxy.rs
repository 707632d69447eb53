//! A tiny HTTP/1.1 proxy in front of the simulator: it forwards requests one by one, counts them, and can
//! break exchanges on purpose — the first `times` requests whose request line starts with a given prefix
//! meet a [`Fault`]: a reset before or after the backend applied the request, a gateway 5xx, an answer held
//! back past the client's timeout, a body trickled slowly, or a response cut in the middle.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// What the proxy does to a faulted exchange.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Forward, let the backend answer (so it applied the request), then hang up without answering.
    HangUpAfterApply,
    /// Hang up before forwarding: the backend never sees the request.
    ResetBeforeForward,
    /// Answer `503` with `Retry-After: 0` without forwarding (a load balancer in trouble).
    GatewayUnavailable,
    /// Forward, then answer `502` instead of the backend's answer (the backend applied the request).
    BadGatewayAfterApply,
    /// Forward, then hold the answer back for this many milliseconds before sending it.
    Delay(u64),
    /// Forward, then send the answer's head, and its body in ten pieces 20 ms apart.
    SlowBody,
    /// Forward, then send the head and half of the body, and hang up.
    PartialResponse,
}

struct State {
    /// The request line of every request received, in order.
    requests: Vec<String>,
    /// The prefix of the request lines to break.
    fault_on: Option<String>,
    /// What to do to them.
    fault: Fault,
    /// How many exchanges to break.
    times: usize,
    /// How many exchanges were broken.
    faults: usize,
}

/// The proxy, serving until dropped.
pub struct Proxy {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    task: JoinHandle<()>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Proxy {
    /// A proxy to `upstream` (`http://host:port`) that breaks the first exchange whose request line starts
    /// with `fault_on`, if given.
    pub async fn start(upstream: &str, fault_on: Option<&str>) -> Proxy {
        Proxy::with_fault(upstream, fault_on, Fault::HangUpAfterApply, 1).await
    }

    /// A proxy to `upstream` that applies `fault` to the first `times` exchanges whose request line starts
    /// with `fault_on`.
    pub async fn with_fault(upstream: &str, fault_on: Option<&str>, fault: Fault, times: usize) -> Proxy {
        let upstream: SocketAddr =
            upstream.trim_start_matches("http://").parse().expect("an http://ip:port upstream");
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the proxy");
        let addr = listener.local_addr().expect("proxy address");
        let state = Arc::new(Mutex::new(State {
            requests: Vec::new(),
            fault_on: fault_on.map(str::to_owned),
            fault,
            times,
            faults: 0,
        }));
        let shared = state.clone();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let state = shared.clone();
                tokio::spawn(async move {
                    // A broken exchange ends the connection with an error: that is the point.
                    let _ = relay(client, upstream, state).await;
                });
            }
        });
        Proxy { addr, state, task }
    }

    /// `http://<proxy address>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The request lines received so far.
    pub fn requests(&self) -> Vec<String> {
        self.lock().requests.clone()
    }

    /// How many exchanges were broken.
    pub fn faults(&self) -> usize {
        self.lock().faults
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

async fn relay(client: TcpStream, upstream: SocketAddr, state: Arc<Mutex<State>>) -> std::io::Result<()> {
    let mut client = BufReader::new(client);
    let mut server: Option<BufReader<TcpStream>> = None;
    while let Some(request) = read_message(&mut client).await? {
        let line =
            String::from_utf8_lossy(request.split(|b| *b == b'\r').next().unwrap_or_default()).into_owned();
        let fault = {
            let mut state = state.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            state.requests.push(line.clone());
            let hit = state.faults < state.times
                && state.fault_on.as_deref().is_some_and(|prefix| line.starts_with(prefix));
            if hit {
                state.faults += 1;
            }
            hit.then_some(state.fault)
        };
        match fault {
            Some(Fault::ResetBeforeForward) => return Ok(()),
            Some(Fault::GatewayUnavailable) => {
                let body = r#"{"message":"the gateway is overloaded"}"#;
                client.write_all(canned(503, "Service Unavailable", body).as_bytes()).await?;
                continue;
            }
            _ => {}
        }
        let upstream_stream = match &mut server {
            Some(stream) => stream,
            None => server.insert(BufReader::new(TcpStream::connect(upstream).await?)),
        };
        upstream_stream.write_all(&request).await?;
        let response = read_message(upstream_stream)
            .await?
            .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "no response"))?;
        match fault {
            // The backend has answered (and so applied the request): hang up without answering.
            Some(Fault::HangUpAfterApply) => return Ok(()),
            Some(Fault::BadGatewayAfterApply) => {
                let body = r#"{"message":"bad gateway"}"#;
                client.write_all(canned(502, "Bad Gateway", body).as_bytes()).await?;
            }
            Some(Fault::Delay(millis)) => {
                tokio::time::sleep(std::time::Duration::from_millis(millis)).await;
                client.write_all(&response).await?;
            }
            Some(Fault::SlowBody) => {
                let head_end = response.windows(4).position(|w| w == b"\r\n\r\n").map_or(0, |at| at + 4);
                client.write_all(&response[..head_end]).await?;
                let body = &response[head_end..];
                for piece in body.chunks(body.len().div_ceil(10).max(1)) {
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                    client.write_all(piece).await?;
                    client.flush().await?;
                }
            }
            Some(Fault::PartialResponse) => {
                client.write_all(&response[..response.len() - (response.len() / 4).max(1)]).await?;
                return Ok(());
            }
            _ => client.write_all(&response).await?,
        }
    }
    Ok(())
}

/// A whole HTTP/1.1 response with a JSON body.
fn canned(status: u16, reason: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\nretry-after: 0\r\n\
         content-length: {}\r\n\r\n{body}",
        body.len()
    )
}

/// One HTTP/1.1 message (head and a Content-Length body), or none at a clean end of stream.
async fn read_message(stream: &mut BufReader<TcpStream>) -> std::io::Result<Option<Vec<u8>>> {
    let mut message = Vec::new();
    let mut content_length = 0usize;
    loop {
        let mut line = Vec::new();
        if stream.read_until(b'\n', &mut line).await? == 0 {
            if message.is_empty() {
                return Ok(None);
            }
            return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "truncated head"));
        }
        message.extend_from_slice(&line);
        if line == b"\r\n" {
            break;
        }
        let text = String::from_utf8_lossy(&line).to_ascii_lowercase();
        if let Some(value) = text.strip_prefix("content-length:") {
            content_length = value.trim().parse().expect("a numeric Content-Length");
        }
        assert!(!text.starts_with("transfer-encoding:"), "the test proxy does not speak chunked bodies");
    }
    let start = message.len();
    message.resize(start + content_length, 0);
    stream.read_exact(&mut message[start..]).await?;
    Ok(Some(message))
}
