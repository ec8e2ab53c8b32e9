//! A loopback HTTP server that misbehaves on purpose, for the engine client tests: slow,
//! failing, rate-limiting, dripping, oversized. It speaks HTTP/1.1 by hand over
//! `tokio::net::TcpListener`, one request per connection, so a test controls every byte and
//! its timing, and it records every request it reads.

use fabric_ai::engine::http::EngineHttpConfig;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the server does with the n-th request (0-based).
pub enum Action {
    /// Answers at once.
    Respond {
        /// The status code.
        status: u16,
        /// Extra headers (`connection` and `content-length` are always sent).
        headers: Vec<(&'static str, String)>,
        /// The body.
        body: Vec<u8>,
    },
    /// Waits, then does the inner action.
    Sleep(Duration, Box<Action>),
    /// Announces `len` bytes and sends one every `every`.
    Drip {
        /// Bytes announced and sent.
        len: usize,
        /// Pause after each byte.
        every: Duration,
    },
    /// Sends `len` bytes in 1 KiB writes, announced by `Content-Length` or ended by closing.
    Large {
        /// Bytes sent (rounded down to whole KiB).
        len: usize,
        /// Whether `Content-Length` announces them.
        with_length: bool,
    },
}

/// An empty answer with status `code`.
pub fn status(code: u16) -> Action {
    Action::Respond {
        status: code,
        headers: Vec::new(),
        body: Vec::new(),
    }
}

/// A 200 JSON answer with `body`.
pub fn ok(body: &str) -> Action {
    Action::Respond {
        status: 200,
        headers: vec![("content-type", "application/json".into())],
        body: body.as_bytes().to_vec(),
    }
}

/// A 429 asking to retry after `seconds`.
pub fn too_many_requests(seconds: u64) -> Action {
    Action::Respond {
        status: 429,
        headers: vec![("retry-after", seconds.to_string())],
        body: Vec::new(),
    }
}

/// One request as the server read it.
#[derive(Debug, Clone)]
pub struct Seen {
    /// When its head had been read.
    pub at: Instant,
    /// `GET`, `POST`, ...
    pub method: String,
    /// The request target.
    pub path: String,
    /// Header names in lowercase.
    pub headers: HashMap<String, String>,
    /// The body, `Content-Length` bytes of it.
    pub body: Vec<u8>,
}

/// A running test server and what it has seen.
pub struct Server {
    /// Where it listens.
    pub addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
    /// The most requests it was answering at once.
    pub max_concurrent: Arc<AtomicUsize>,
}

impl Server {
    /// Listens on an ephemeral loopback port and answers the n-th request with `script(n)`.
    pub async fn start(script: impl Fn(usize) -> Action + Send + Sync + 'static) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let max_concurrent = Arc::new(AtomicUsize::new(0));
        let concurrent = Arc::new(AtomicUsize::new(0));
        let script = Arc::new(script);
        let count = Arc::new(AtomicUsize::new(0));
        let (seen2, max2) = (seen.clone(), max_concurrent.clone());
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let (seen, max, concurrent, script, count) = (
                    seen2.clone(),
                    max2.clone(),
                    concurrent.clone(),
                    script.clone(),
                    count.clone(),
                );
                tokio::spawn(async move {
                    let mut stream = stream;
                    let Some(request) = read_request(&mut stream).await else {
                        return;
                    };
                    let now = concurrent.fetch_add(1, Ordering::SeqCst) + 1;
                    max.fetch_max(now, Ordering::SeqCst);
                    let n = count.fetch_add(1, Ordering::SeqCst);
                    seen.lock().unwrap().push(request);
                    // Write errors are expected: clients hang up on purpose in some cases.
                    let _ = act(&mut stream, script(n)).await;
                    concurrent.fetch_sub(1, Ordering::SeqCst);
                });
            }
        });
        Server {
            addr,
            seen,
            max_concurrent,
        }
    }

    /// Every request so far, in arrival order.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// How many requests arrived so far.
    pub fn requests(&self) -> usize {
        self.seen.lock().unwrap().len()
    }

    /// A transport config for this server, with short backoffs and a high rate limit.
    pub fn config(&self) -> EngineHttpConfig {
        config_for(&format!("http://{}", self.addr))
    }
}

/// A transport config for `url`, with short backoffs and a high rate limit.
pub fn config_for(url: &str) -> EngineHttpConfig {
    EngineHttpConfig {
        url: url.to_owned(),
        backoff_initial: Duration::from_millis(50),
        backoff_max: Duration::from_millis(200),
        rate_limit_per_second: 1000.0,
        rate_limit_burst: 1000,
        ..EngineHttpConfig::default()
    }
}

async fn read_request(stream: &mut TcpStream) -> Option<Seen> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let at = Instant::now();
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next()?.split(' ');
    let method = request_line.next()?.to_owned();
    let path = request_line.next()?.to_owned();
    let headers: HashMap<String, String> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let len: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end..].to_vec();
    while body.len() < len {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some(Seen {
        at,
        method,
        path,
        headers,
        body,
    })
}

async fn act(stream: &mut TcpStream, action: Action) -> std::io::Result<()> {
    let mut action = action;
    while let Action::Sleep(pause, next) = action {
        tokio::time::sleep(pause).await;
        action = *next;
    }
    match action {
        Action::Sleep(..) => unreachable!("sleeps are unwrapped above"),
        Action::Respond {
            status,
            headers,
            body,
        } => {
            let mut head = format!(
                "HTTP/1.1 {status} Test\r\nconnection: close\r\ncontent-length: {}\r\n",
                body.len()
            );
            for (name, value) in headers {
                head.push_str(&format!("{name}: {value}\r\n"));
            }
            head.push_str("\r\n");
            stream.write_all(head.as_bytes()).await?;
            stream.write_all(&body).await?;
        }
        Action::Drip { len, every } => {
            let head =
                format!("HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: {len}\r\n\r\n");
            stream.write_all(head.as_bytes()).await?;
            for _ in 0..len {
                stream.write_all(b"x").await?;
                stream.flush().await?;
                tokio::time::sleep(every).await;
            }
        }
        Action::Large { len, with_length } => {
            let mut head = String::from("HTTP/1.1 200 OK\r\nconnection: close\r\n");
            if with_length {
                head.push_str(&format!("content-length: {len}\r\n"));
            }
            head.push_str("\r\n");
            stream.write_all(head.as_bytes()).await?;
            let kib = [b'y'; 1024];
            for _ in 0..len / 1024 {
                stream.write_all(&kib).await?;
            }
        }
    }
    stream.shutdown().await
}

/// The call's wall time is within its deadline plus a generous second.
pub fn assert_within(started: Instant, deadline: Duration) {
    let took = started.elapsed();
    assert!(took <= deadline + Duration::from_secs(1), "took {took:?}");
}

/// A loopback URL where nothing listens, so connecting is refused.
pub async fn refusing_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}")
}

/// A server answering every request with 64 KiB (announced by `Content-Length` when
/// `with_length`), and a config for it that accepts 4 KiB at most.
pub async fn oversized_server(with_length: bool) -> (Server, EngineHttpConfig) {
    let server = Server::start(move |_| Action::Large {
        len: 64 * 1024,
        with_length,
    })
    .await;
    let config = EngineHttpConfig {
        max_answer_bytes: 4 * 1024,
        ..server.config()
    };
    (server, config)
}
