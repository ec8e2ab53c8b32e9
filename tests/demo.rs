//! `fabric-ai demo` needs no broker: it shows an anomaly within a minute of starting and stops
//! cleanly on Ctrl-C (SIGINT).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

#[test]
fn demo_shows_anomalies_within_a_minute_and_stops_cleanly_on_ctrl_c() {
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_fabric-ai"))
        .arg("demo")
        // No broker anywhere: the demo must not need one.
        .env("KAFKA_BOOTSTRAP", "127.0.0.1:1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the demo");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });

    let mut detection = None;
    let mut seen = Vec::new();
    while started.elapsed() < Duration::from_secs(60) {
        let Ok(line) = rx.recv_timeout(Duration::from_millis(500)) else {
            continue;
        };
        seen.push(line.clone());
        let is_finding = !line.contains("injected")
            && (line.contains(" spike ")
                || line.contains(" level_shift ")
                || line.contains(" outlier "));
        if is_finding {
            detection = Some(line);
            break;
        }
    }
    let elapsed = started.elapsed();

    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = wait_with_timeout(&mut child, Duration::from_secs(30));
    let rest: Vec<String> = rx.iter().collect();
    reader.join().unwrap();

    let detection =
        detection.unwrap_or_else(|| panic!("no anomaly within a minute:\n{}", seen.join("\n")));
    assert!(
        detection.contains("cluster-") && detection.contains("cpu_util"),
        "{detection}"
    );
    assert!(elapsed < Duration::from_secs(60));
    assert_eq!(
        exit,
        Some(0),
        "demo exits 0 on Ctrl-C; output after: {rest:?}"
    );
    assert!(rest.iter().any(|l| l.starts_with("done:")), "{rest:?}");
}

fn wait_with_timeout(child: &mut std::process::Child, timeout: Duration) -> Option<i32> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            return None;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
