//! Test support: a tiny HTTP/1.1 server on loopback that answers scripted responses per path and records
//! every request, so the client's real HTTP path (reqwest, retries, headers) is exercised without the
//! simulator.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use url::Url;

/// One scripted response.
#[derive(Clone, Debug)]
pub(crate) struct Canned {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
    delay: Duration,
}

impl Canned {
    /// A JSON response.
    pub(crate) fn json(status: u16, body: serde_json::Value) -> Canned {
        Canned { status, headers: Vec::new(), body: body.to_string(), delay: Duration::ZERO }
    }

    /// A response with an empty body.
    pub(crate) fn empty(status: u16) -> Canned {
        Canned { status, headers: Vec::new(), body: String::new(), delay: Duration::ZERO }
    }

    /// An error response in the backend's shape.
    pub(crate) fn error(status: u16, code: &str, message: &str) -> Canned {
        Canned::json(status, serde_json::json!({ "message": message, "error": code }))
    }

    /// With an extra header.
    pub(crate) fn header(mut self, name: &str, value: &str) -> Canned {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Answered only after `delay`.
    pub(crate) fn delayed(mut self, delay: Duration) -> Canned {
        self.delay = delay;
        self
    }
}

/// A request the server received.
#[derive(Clone, Debug)]
pub(crate) struct Recorded {
    pub(crate) method: String,
    /// The path, without the query.
    pub(crate) path: String,
    /// The query string, if any.
    pub(crate) query: Option<String>,
    /// Header names lowercased.
    pub(crate) headers: HashMap<String, String>,
    pub(crate) body: String,
}

impl Recorded {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(&name.to_ascii_lowercase()).map(String::as_str)
    }

    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).expect("the request body is JSON")
    }
}

#[derive(Default)]
struct State {
    scripts: HashMap<String, VecDeque<Canned>>,
    requests: Vec<Recorded>,
}

/// The server. Dropping it stops accepting connections.
pub(crate) struct CannedServer {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    task: JoinHandle<()>,
}

impl Drop for CannedServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl CannedServer {
    pub(crate) async fn start() -> CannedServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
        let addr = listener.local_addr().expect("local address");
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, shared.clone()));
            }
        });
        CannedServer { addr, state, task }
    }

    pub(crate) fn url(&self) -> Url {
        Url::parse(&format!("http://{}", self.addr)).expect("url")
    }

    /// Appends responses for `path` (no query), answered in order. An unscripted request gets 418.
    pub(crate) fn script(&self, path: &str, responses: impl IntoIterator<Item = Canned>) {
        let mut state = self.state.lock().expect("lock");
        state.scripts.entry(path.to_owned()).or_default().extend(responses);
    }

    /// Every request so far, in arrival order.
    pub(crate) fn requests(&self) -> Vec<Recorded> {
        self.state.lock().expect("lock").requests.clone()
    }

    /// The requests to `path` (no query).
    pub(crate) fn requests_to(&self, path: &str) -> Vec<Recorded> {
        self.requests().into_iter().filter(|request| request.path == path).collect()
    }
}

async fn serve(stream: TcpStream, state: Arc<Mutex<State>>) {
    let mut reader = BufReader::new(stream);
    loop {
        let mut request_line = String::new();
        match reader.read_line(&mut request_line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let mut parts = request_line.split_whitespace();
        let method = parts.next().unwrap_or_default().to_owned();
        let target = parts.next().unwrap_or_default().to_owned();
        let mut headers = HashMap::new();
        loop {
            let mut line = String::new();
            match reader.read_line(&mut line).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
            }
        }
        let length: usize = headers.get("content-length").and_then(|value| value.parse().ok()).unwrap_or(0);
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).await.is_err() {
            return;
        }
        let (path, query) = match target.split_once('?') {
            Some((path, query)) => (path.to_owned(), Some(query.to_owned())),
            None => (target.clone(), None),
        };
        let canned = {
            let mut state = state.lock().expect("lock");
            state.requests.push(Recorded {
                method,
                path: path.clone(),
                query,
                headers,
                body: String::from_utf8_lossy(&body).into_owned(),
            });
            state.scripts.get_mut(&path).and_then(VecDeque::pop_front).unwrap_or_else(|| {
                Canned::error(418, "unscripted", &format!("no scripted response for {path}"))
            })
        };
        tokio::time::sleep(canned.delay).await;
        let mut response = format!(
            "HTTP/1.1 {} Canned\r\ncontent-type: application/json\r\ncontent-length: {}\r\n",
            canned.status,
            canned.body.len()
        );
        for (name, value) in &canned.headers {
            response.push_str(&format!("{name}: {value}\r\n"));
        }
        response.push_str("\r\n");
        response.push_str(&canned.body);
        if reader.get_mut().write_all(response.as_bytes()).await.is_err() {
            return;
        }
    }
}
