//! Replay of recorded inputs, offline: the same files and configuration give byte-identical
//! outputs, the processors decide (a quiet simulated fleet gives no performance
//! recommendation), and a bad line becomes a dead letter naming its file and
//! line. Needs no broker.

use chrono::{TimeZone, Utc};
use fabric_ai::config::Config;
use fabric_ai::event::{self, DeadLetter, Encoding};
use fabric_ai::pipeline::replay::{replay, ReplayInput};
use fabric_ai::simulate::{Incident, SimConfig, Simulator};
use fabric_ai::topics::TopicRole;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Writes a simulated fleet's telemetry and job events as JSON lines, with one bad line in the
/// telemetry; returns the two files.
fn record(dir: &Path) -> (PathBuf, PathBuf) {
    let mut sim = Simulator::new(SimConfig {
        clusters: 2,
        nodes: 3,
        period: Duration::from_secs(10),
        start: Utc.with_ymd_and_hms(2026, 3, 2, 8, 0, 0).unwrap(),
        duration: Some(Duration::from_secs(90 * 60)),
        seed: 5,
        job_interarrival: Some(Duration::from_secs(60)),
        incidents: vec![Incident::parse("spike:cluster-0/node-01:30m5s").unwrap()],
    });
    let telemetry = dir.join("telemetry.jsonl");
    let jobs = dir.join("jobs.jsonl");
    let mut t = std::fs::File::create(&telemetry).unwrap();
    let mut j = std::fs::File::create(&jobs).unwrap();
    let mut ticks = 0;
    while let Some(tick) = sim.next_tick() {
        for s in &tick.samples {
            t.write_all(&event::encode(s, Encoding::Json).unwrap())
                .unwrap();
            t.write_all(b"\n").unwrap();
        }
        for e in &tick.jobs {
            j.write_all(&event::encode(e, Encoding::Json).unwrap())
                .unwrap();
            j.write_all(b"\n").unwrap();
        }
        ticks += 1;
        if ticks == 10 {
            t.write_all(b"{\"cluster_id\": \"c\", not json\n").unwrap();
        }
    }
    (telemetry, jobs)
}

fn inputs(telemetry: &Path, jobs: &Path) -> Vec<ReplayInput> {
    vec![
        ReplayInput {
            role: TopicRole::Telemetry,
            path: telemetry.to_owned(),
        },
        ReplayInput {
            role: TopicRole::JobEvents,
            path: jobs.to_owned(),
        },
    ]
}

/// Every output file's name and bytes.
fn outputs(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).unwrap())
        })
        .collect();
    files.sort();
    files
}

/// The defaults, publishing every decision whatever its confidence (a few hours of history
/// give low confidences), so each processor's topic has some to compare.
fn publishing_everything() -> Config {
    Config {
        gating: fabric_ai::engine::gate::GatingConfig {
            min_confidence: 0.0,
            load_balancing: 0.0,
            resource_allocation: 0.0,
            migration: 0.0,
            scaling: 0.0,
            energy_optimization: 0.0,
            cross_cluster: 0.0,
        },
        ..Config::default()
    }
}

#[test]
fn two_replays_of_the_same_input_are_byte_identical_and_the_processors_decide() {
    let dir = tempfile::tempdir().unwrap();
    let (telemetry, jobs) = record(dir.path());
    let config = publishing_everything();

    let first = dir.path().join("first");
    let second = dir.path().join("second");
    let stats = replay(config.clone(), &inputs(&telemetry, &jobs), &first).unwrap();
    replay(config, &inputs(&telemetry, &jobs), &second).unwrap();

    let (a, b) = (outputs(&first), outputs(&second));
    assert_eq!(
        a.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
        b.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>()
    );
    for ((name, x), (_, y)) in a.iter().zip(&b) {
        assert!(x == y, "{name} differs between two replays");
    }
    for name in [
        "anomalies.jsonl",
        "predictions.jsonl",
        "workload_insights.jsonl",
        "scaling_decisions.jsonl",
        "audit.jsonl",
    ] {
        let lines = a
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, bytes)| {
                bytes
                    .split(|b| *b == b'\n')
                    .filter(|l| !l.is_empty())
                    .count()
            })
            .unwrap_or(0);
        assert!(lines > 0, "{name} is empty");
    }
    assert_eq!(stats.dead_letters, 1);
    assert!(stats.decisions_out > 50, "{stats:?}");
}

#[test]
fn a_bad_line_becomes_a_dead_letter_naming_its_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let (telemetry, jobs) = record(dir.path());
    let out = dir.path().join("out");
    replay(Config::default(), &inputs(&telemetry, &jobs), &out).unwrap();
    let text = std::fs::read(out.join("dead_letters.jsonl")).unwrap();
    let letters: Vec<DeadLetter> = text
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| event::decode(l, Encoding::Json).unwrap())
        .collect();
    assert_eq!(letters.len(), 1);
    // Ten ticks of six nodes come first, so the bad line is line 61.
    assert_eq!(letters[0].offset, 61);
    assert_eq!(letters[0].source_topic, telemetry.display().to_string());
    assert_eq!(
        letters[0].payload,
        b"{\"cluster_id\": \"c\", not json".to_vec()
    );
}

#[test]
fn the_replay_command_writes_its_outputs_and_a_summary() {
    let dir = tempfile::tempdir().unwrap();
    let (telemetry, jobs) = record(dir.path());
    let out = dir.path().join("cli");
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_fabric-ai"))
        .arg("replay")
        .arg("--telemetry")
        .arg(&telemetry)
        .arg("--jobs")
        .arg(&jobs)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    assert!(stderr.contains("1 dead letters"), "{stderr}");
    assert!(out.join("audit.jsonl").exists());
}

#[test]
fn a_labelled_series_replays_as_one_nodes_telemetry() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data/nab-dev/realAWSCloudwatch/ec2_cpu_utilization_24ae8d.csv");
    let rows = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{} must exist (../shared/data): {e}", path.display()))
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .count();
    let mut config = Config::default();
    config.processors.enable_performance = false;
    config.processors.enable_workload = false;
    config.processors.enable_prediction = false;
    config.processors.enable_scaling = false;
    let sources = fabric_ai::pipeline::replay::ReplaySources {
        files: Vec::new(),
        series: vec![fabric_ai::pipeline::replay::SeriesInput {
            path,
            mapping: fabric_ai::replay::input::SeriesMapping {
                cluster_id: "aws".into(),
                node_id: "ec2".into(),
                metric: fabric_ai::event::Metric::Cpu,
                divisor: 100.0,
                offset: 0.0,
            },
        }],
        ..Default::default()
    };
    let dir = tempfile::tempdir().unwrap();
    let stats = fabric_ai::pipeline::replay::replay_sources(config, &sources, dir.path()).unwrap();
    assert_eq!(stats.events_ok as usize, rows);
    assert_eq!(stats.dead_letters, 0);
    // Five-minute rows into two-minute anomaly windows: one window per row.
    assert_eq!(stats.windows_closed as usize, rows);
}

/// Decisions of a replay by id, each without its `source`.
fn decisions_without_source(dir: &Path) -> std::collections::BTreeMap<String, serde_json::Value> {
    let mut out = std::collections::BTreeMap::new();
    for role in [
        TopicRole::Anomalies,
        TopicRole::Recommendations,
        TopicRole::Predictions,
        TopicRole::WorkloadInsights,
        TopicRole::ScalingDecisions,
    ] {
        let Ok(text) = std::fs::read_to_string(dir.join(format!("{}.jsonl", role.as_str()))) else {
            continue;
        };
        for line in text.lines() {
            let mut json: serde_json::Value = serde_json::from_str(line).unwrap();
            json.as_object_mut().unwrap().remove("source");
            out.insert(json["id"].as_str().unwrap().to_owned(), json);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_asking_the_http_engine_decides_as_the_builtin_replay() {
    use fabric_ai::pipeline::replay::{
        replay_with, ReplayEngine, ReplayOptions, ReplayOutput, ReplaySources,
    };
    let dir = tempfile::tempdir().unwrap();
    let (telemetry, jobs) = record(dir.path());
    let mut config = publishing_everything();
    let builtin = dir.path().join("builtin");
    replay(config.clone(), &inputs(&telemetry, &jobs), &builtin).unwrap();

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let router = fabric_ai::engine::server::router(Default::default());
    let server = tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    config.engine.url = url;
    let http = dir.path().join("http");
    let sources = ReplaySources {
        files: inputs(&telemetry, &jobs),
        ..Default::default()
    };
    let options = ReplayOptions {
        out: ReplayOutput::Files(http.clone()),
        engine: ReplayEngine::Http,
        progress: false,
    };
    let observer = &mut fabric_ai::replay::observer::NoObserver;
    let stats =
        tokio::task::block_in_place(|| replay_with(config, &sources, &options, observer)).unwrap();
    server.abort();
    assert_eq!(stats.fallbacks, 0, "every window answered over HTTP");

    let (expected, got) = (
        decisions_without_source(&builtin),
        decisions_without_source(&http),
    );
    assert!(expected.len() > 20, "{}", expected.len());
    assert_eq!(expected, got);
    let anomalies = std::fs::read_to_string(http.join("anomalies.jsonl")).unwrap();
    assert!(anomalies
        .lines()
        .all(|l| l.contains("\"source\":\"engine\"")));
}

#[test]
fn an_avro_container_file_replays_as_its_json_lines_do() {
    let dir = tempfile::tempdir().unwrap();
    let (telemetry, jobs) = record(dir.path());
    // The same telemetry (bad line left out on both sides) as a container file.
    let good: Vec<String> = std::fs::read_to_string(&telemetry)
        .unwrap()
        .lines()
        .filter(|l| !l.contains("not json"))
        .map(str::to_owned)
        .collect();
    let json_file = dir.path().join("good.jsonl");
    std::fs::write(&json_file, good.join("\n") + "\n").unwrap();
    let schema = fabric_ai::event::codec::schema_of::<fabric_ai::event::TelemetrySample>();
    let mut writer = apache_avro::Writer::new(schema, Vec::new());
    for line in &good {
        let json: serde_json::Value = serde_json::from_str(line).unwrap();
        writer
            .append(fabric_ai::event::avro::to_avro(schema, &json).unwrap())
            .unwrap();
    }
    let avro_file = dir.path().join("telemetry.avro");
    std::fs::write(&avro_file, writer.into_inner().unwrap()).unwrap();

    let config = Config::default();
    let from_json = dir.path().join("json");
    let from_avro = dir.path().join("avro");
    let a = replay(config.clone(), &inputs(&json_file, &jobs), &from_json).unwrap();
    let b = replay(config, &inputs(&avro_file, &jobs), &from_avro).unwrap();
    assert_eq!(a.events_ok, b.events_ok);
    assert_eq!(b.dead_letters, 0);
    for name in [
        "anomalies.jsonl",
        "predictions.jsonl",
        "scaling_decisions.jsonl",
    ] {
        let x = std::fs::read(from_json.join(name)).unwrap_or_default();
        let y = std::fs::read(from_avro.join(name)).unwrap_or_default();
        assert!(x == y, "{name} differs");
    }
}
