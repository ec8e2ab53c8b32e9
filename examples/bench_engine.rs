//! Benchmark of the AI Engine client: what asking over HTTP costs on top of the engine's own
//! work, and how many requests per second one client sustains.
//!
//! ```text
//! cargo run --release --example bench_engine -- [--requests N] [--concurrency C] [--url URL]
//! ```
//!
//! Without `--url` the reference server (`fabric_ai::engine::server`) runs in-process on
//! 127.0.0.1:0. Three realistic requests are measured: an anomaly request (a 2-minute window
//! of 12 samples and a warmed baseline), a prediction request with 96 history points and a
//! scaling request. For each, three ways of getting the answer are timed one at a time:
//!
//! - (a) `Answerer::ask` through `HttpEngine`: encode, HTTP with the whole transport (breaker,
//!   rate limiter, in-flight bound, deadline), decode and checks;
//! - (b) a bare `reqwest::Client` POST of the pre-encoded body, reading the answer's bytes and
//!   decoding nothing;
//! - (c) the built-in engine in-process.
//!
//! The client's overhead is (a) − (b) at p50: both include the server's handling and the
//! loopback round trip, so what remains is the client's encode, decode, checks and transport
//! machinery. Then requests per second are sustained at each concurrency for 10 s (or
//! `--requests` requests), with the rate limits raised out of the way.
//!
//! Known limits: with the in-process server, client and server share the same runtime and
//! cores, so the throughput is that of the pair, not of the client alone; and (a) − (b) is a
//! difference of two medians, not the median of a difference, so on a noisy machine it can
//! come out slightly off (even below zero for tiny overheads).

#[path = "../tests/support/samples.rs"]
mod samples;

use anyhow::Context;
use clap::Parser;
use fabric_ai::engine::builtin::BuiltinEngine;
use fabric_ai::engine::fallback::Answerer;
use fabric_ai::engine::http::EngineHttpConfig;
use fabric_ai::engine::remote::HttpEngine;
use fabric_ai::engine::server::{serve, ServerOptions};
use fabric_ai::engine::wire::{self, Endpoint};
use fabric_ai::engine::{Engine, EngineRequest};
use fabric_ai::event::Source;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Command-line options.
#[derive(Debug, Parser)]
#[command(about = "Benchmarks the AI Engine client against the reference server")]
struct Args {
    /// Requests per kind and method in the latency runs, and the total per throughput run
    /// (instead of running for 10 s).
    #[arg(long)]
    requests: Option<u64>,
    /// Concurrency of the throughput run; without it, 1 and then 16.
    #[arg(long)]
    concurrency: Option<usize>,
    /// An engine to benchmark against instead of the in-process reference server.
    #[arg(long)]
    url: Option<String>,
}

/// Latency samples per request kind and method when `--requests` is not given.
const DEFAULT_LATENCY_SAMPLES: u64 = 2000;
/// Length of a throughput run when `--requests` is not given.
const THROUGHPUT_RUN: Duration = Duration::from_secs(10);
/// Unmeasured requests per kind before the latency runs, to open connections and warm caches.
const WARMUP: usize = 200;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    print_header();

    let (url, _server) = match &args.url {
        Some(url) => (url.trim_end_matches('/').to_owned(), None),
        None => {
            let (url, stop) = start_reference_server().await?;
            (url, Some(stop))
        }
    };
    println!("engine: {url}");

    let config = EngineHttpConfig {
        url: url.clone(),
        rate_limit_per_second: 1e6,
        rate_limit_burst: 1_000_000,
        max_in_flight: 1024,
        ..EngineHttpConfig::default()
    };
    let engine = HttpEngine::new(&config).context("build the engine client")?;
    let answerer = Answerer::new(BuiltinEngine::default(), Some(Arc::new(engine)));
    let bare = reqwest::Client::builder()
        .no_proxy()
        .build()
        .context("build the bare client")?;
    let builtin = BuiltinEngine::default();
    let requests = bench_requests();

    let samples = args.requests.unwrap_or(DEFAULT_LATENCY_SAMPLES);
    println!("\n## Latency, one request at a time, {samples} per row (µs)\n");
    println!("| request | body bytes | method | p50 | p99 |");
    println!("| --- | --- | --- | --- | --- |");
    let mut overheads = Vec::new();
    for request in &requests {
        let name = Endpoint::of(request).name();
        let body = bytes::Bytes::from(wire::encode_request(request)?);
        let post_url = format!("{url}{}", Endpoint::of(request).path());
        let shared = Arc::new(request.clone());

        for _ in 0..WARMUP {
            expect_engine(&answerer.ask(shared.clone()).await.source)?;
            bare_post(&bare, &post_url, body.clone()).await?;
        }

        let mut full = Vec::new();
        for _ in 0..samples {
            let started = Instant::now();
            let answered = answerer.ask(shared.clone()).await;
            full.push(started.elapsed());
            expect_engine(&answered.source)?;
        }
        let mut raw = Vec::new();
        for _ in 0..samples {
            let started = Instant::now();
            bare_post(&bare, &post_url, body.clone()).await?;
            raw.push(started.elapsed());
        }
        let mut local = Vec::new();
        for _ in 0..samples {
            let started = Instant::now();
            let answer = builtin.answer(request);
            local.push(started.elapsed());
            answer.context("the built-in engine answers the sample")?;
        }

        let rows = [
            ("(a) Answerer::ask over HTTP", &mut full),
            ("(b) bare reqwest POST", &mut raw),
            ("(c) built-in in-process", &mut local),
        ];
        let mut p50s = Vec::new();
        for (method, times) in rows {
            times.sort();
            let (p50, p99) = (percentile(times, 50), percentile(times, 99));
            p50s.push(p50);
            println!(
                "| {name} | {} | {method} | {} | {} |",
                body.len(),
                micros(p50),
                micros(p99)
            );
        }
        let overhead = p50s[0].as_secs_f64() - p50s[1].as_secs_f64();
        overheads.push((name, overhead * 1e6));
    }
    println!("\n## Client overhead, (a) − (b) at p50 (µs)\n");
    for (name, overhead) in overheads {
        println!("- {name}: {overhead:.1}");
    }

    println!("\n## Throughput, Answerer::ask, the three requests in turn\n");
    println!("| concurrency | requests | seconds | requests/s | fallbacks |");
    println!("| --- | --- | --- | --- | --- |");
    let levels = match args.concurrency {
        Some(c) => vec![c.max(1)],
        None => vec![1, 16],
    };
    for concurrency in levels {
        let run = throughput(&answerer, &requests, concurrency, args.requests).await;
        println!(
            "| {concurrency} | {} | {:.1} | {:.0} | {} |",
            run.done,
            run.took.as_secs_f64(),
            run.done as f64 / run.took.as_secs_f64(),
            run.fallbacks
        );
    }
    Ok(())
}

/// The machine, the date and the command, so the numbers can be put in context.
fn print_header() {
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|l| l.split_once(':'))
        .map_or("unknown", |(_, m)| m.trim());
    let command: Vec<String> = std::env::args().collect();
    println!("# bench_engine");
    println!("date: {}", chrono::Utc::now().to_rfc3339());
    println!("machine: nproc {cores}, cpu {model}");
    println!("command: {}", command.join(" "));
    println!(
        "build: {}",
        if cfg!(debug_assertions) {
            "debug (numbers are not representative)"
        } else {
            "release"
        }
    );
}

/// The reference server on an ephemeral loopback port; it stops when the sender is dropped.
async fn start_reference_server() -> anyhow::Result<(String, tokio::sync::oneshot::Sender<()>)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let shutdown = async {
            // A dropped sender stops the server as a sent message would.
            let _ = stopped.await;
        };
        if let Err(error) = serve(listener, ServerOptions::default(), shutdown).await {
            eprintln!("reference server failed: {error}");
        }
    });
    Ok((url, stop))
}

/// The anomaly, prediction (96 history points) and scaling samples.
fn bench_requests() -> Vec<EngineRequest> {
    let mut prediction = samples::request(Endpoint::Prediction);
    if let EngineRequest::Prediction(p) = &mut prediction {
        p.history = (0..96)
            .map(|i| 0.3 + 0.1 * (f64::from(i) * std::f64::consts::TAU / 24.0).sin())
            .collect();
    }
    vec![
        samples::request(Endpoint::Anomaly),
        prediction,
        samples::request(Endpoint::Scaling),
    ]
}

/// One POST of pre-encoded bytes, reading the answer whole and decoding nothing.
async fn bare_post(client: &reqwest::Client, url: &str, body: bytes::Bytes) -> anyhow::Result<()> {
    let response = client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body)
        .send()
        .await?;
    anyhow::ensure!(response.status().is_success(), "{}", response.status());
    response.bytes().await?;
    Ok(())
}

/// A latency sample only counts when the engine answered: a fallback would time the wrong
/// path.
fn expect_engine(source: &Source) -> anyhow::Result<()> {
    anyhow::ensure!(
        *source == Source::Engine,
        "the engine did not answer; see the log"
    );
    Ok(())
}

/// The `p`-th percentile of sorted `times`.
fn percentile(times: &[Duration], p: usize) -> Duration {
    let i = (times.len() * p / 100).min(times.len().saturating_sub(1));
    times.get(i).copied().unwrap_or_default()
}

fn micros(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1e6)
}

/// What a throughput run did.
struct Run {
    done: u64,
    fallbacks: u64,
    took: Duration,
}

/// `concurrency` tasks asking in a loop for [`THROUGHPUT_RUN`], or until `total` requests
/// have been started.
async fn throughput(
    answerer: &Answerer,
    requests: &[EngineRequest],
    concurrency: usize,
    total: Option<u64>,
) -> Run {
    let requests: Arc<Vec<Arc<EngineRequest>>> =
        Arc::new(requests.iter().cloned().map(Arc::new).collect());
    let started_count = Arc::new(AtomicU64::new(0));
    let fallbacks = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let until = started + THROUGHPUT_RUN;

    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (answerer, requests) = (answerer.clone(), requests.clone());
        let (started_count, fallbacks, done) =
            (started_count.clone(), fallbacks.clone(), done.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let n = started_count.fetch_add(1, Ordering::Relaxed);
                let over = match total {
                    Some(total) => n >= total,
                    None => Instant::now() >= until,
                };
                if over {
                    return;
                }
                let request = requests[(n % requests.len() as u64) as usize].clone();
                let answered = answerer.ask(request).await;
                if answered.source != Source::Engine {
                    fallbacks.fetch_add(1, Ordering::Relaxed);
                }
                done.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for task in tasks {
        // A panicking task would already have printed; its requests are simply not counted.
        let _ = task.await;
    }
    Run {
        done: done.load(Ordering::Relaxed),
        fallbacks: fallbacks.load(Ordering::Relaxed),
        took: started.elapsed(),
    }
}
