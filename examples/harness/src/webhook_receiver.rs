//! The demo's stand-in for a partner's webhook endpoint: a minimal HTTP/1.1 server on loopback that answers
//! every POST with 204 and hands each delivery (headers and raw body) to the demo. One request per
//! connection; requests are read to their `content-length` (at most [`MAX_BODY`] bytes).

use std::collections::HashMap;

use anyhow::Context;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

/// The largest delivery body read.
const MAX_BODY: usize = 1 << 20;

/// One delivery as received: header names in lowercase, the raw body.
#[derive(Debug)]
pub struct Delivery {
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
}

/// A running receiver; it stops with the demo's runtime.
pub struct WebhookReceiver {
    /// Where to register it: `http://127.0.0.1:<port>/webhooks`.
    pub url: String,
    deliveries: mpsc::UnboundedReceiver<Delivery>,
}

impl WebhookReceiver {
    /// Binds a free loopback port and starts answering.
    pub async fn start() -> anyhow::Result<WebhookReceiver> {
        let listener =
            TcpListener::bind("127.0.0.1:0").await.context("could not bind the webhook receiver")?;
        let url = format!("http://{}/webhooks", listener.local_addr()?);
        let (sender, deliveries) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let sender = sender.clone();
                tokio::spawn(async move {
                    if let Ok(delivery) = serve(stream).await {
                        let _ = sender.send(delivery);
                    }
                });
            }
        });
        Ok(WebhookReceiver { url, deliveries })
    }

    /// The next delivery, waiting up to `within`.
    pub async fn next(&mut self, within: std::time::Duration) -> anyhow::Result<Delivery> {
        tokio::time::timeout(within, self.deliveries.recv())
            .await
            .context("no webhook delivery arrived in time")?
            .context("the webhook receiver stopped")
    }
}

async fn serve(mut stream: TcpStream) -> anyhow::Result<Delivery> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    let header_end = loop {
        let read = stream.read(&mut chunk).await?;
        anyhow::ensure!(read > 0, "the connection closed before the headers ended");
        buffer.extend_from_slice(&chunk[..read]);
        if let Some(at) = buffer.windows(4).position(|window| window == b"\r\n\r\n") {
            break at;
        }
        anyhow::ensure!(buffer.len() < 64 * 1024, "headers too long");
    };
    let head = String::from_utf8_lossy(&buffer[..header_end]).into_owned();
    let headers: HashMap<String, String> = head
        .lines()
        .skip(1)
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    let length: usize = headers.get("content-length").and_then(|text| text.parse().ok()).unwrap_or(0);
    anyhow::ensure!(length <= MAX_BODY, "body too large");
    let mut body = buffer[header_end + 4..].to_vec();
    while body.len() < length {
        let read = stream.read(&mut chunk).await?;
        anyhow::ensure!(read > 0, "the connection closed before the body ended");
        body.extend_from_slice(&chunk[..read]);
    }
    body.truncate(length);
    stream.write_all(b"HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n").await?;
    stream.shutdown().await?;
    Ok(Delivery { headers, body })
}
