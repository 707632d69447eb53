//! A tiny HTTP/1.1 proxy in front of the simulator: it forwards requests one by one, counts them, and can
//! break one exchange on purpose — it forwards the first request whose request line starts with a given
//! prefix, waits for the simulator's answer (so the request has been applied) and then closes the client's
//! connection without answering. The client sees a lost connection; the backend did the work.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

#[derive(Default)]
struct State {
    /// The request line of every request received, in order.
    requests: Vec<String>,
    /// The prefix of the request line to break once.
    fault_on: Option<String>,
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
        let upstream: SocketAddr =
            upstream.trim_start_matches("http://").parse().expect("an http://ip:port upstream");
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the proxy");
        let addr = listener.local_addr().expect("proxy address");
        let state = Arc::new(Mutex::new(State { fault_on: fault_on.map(str::to_owned), ..State::default() }));
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
            let fault =
                state.faults == 0 && state.fault_on.as_deref().is_some_and(|prefix| line.starts_with(prefix));
            if fault {
                state.faults += 1;
            }
            fault
        };
        let upstream_stream = match &mut server {
            Some(stream) => stream,
            None => server.insert(BufReader::new(TcpStream::connect(upstream).await?)),
        };
        upstream_stream.write_all(&request).await?;
        let response = read_message(upstream_stream)
            .await?
            .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "no response"))?;
        if fault {
            // The backend has answered (and so applied the request): hang up without answering.
            return Ok(());
        }
        client.write_all(&response).await?;
    }
    Ok(())
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
