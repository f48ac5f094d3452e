//! `--metrics ADDR:PORT`: Prometheus text on a listener of its own, parsed here by the
//! Prometheus client's own parser (Python's `prometheus_client`; each test says why it skips
//! when that is missing); counters move with requests, and with `--workers` one scrape sums
//! every worker.

pub mod common;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use common::*;

/// Reads every sample with `prometheus_client.parser`: `name{label="v",...}` (labels
/// sorted) to value. `None` (after saying why) when the parser is not installed.
fn parse(text: &str) -> Option<HashMap<String, f64>> {
    const SCRIPT: &str = r#"
import sys
try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError:
    sys.exit(3)
for family in text_string_to_metric_families(sys.stdin.read()):
    for s in family.samples:
        labels = ",".join(f'{k}="{v}"' for k, v in sorted(s.labels.items()))
        print(f"{s.name}{{{labels}}} {s.value}")
"#;
    let output = python3_stdin(SCRIPT, text.as_bytes()).ok()?;
    if output.status.code() == Some(3) {
        assert!(
            std::env::var_os("CI").is_none(),
            "python3 has no prometheus_client; .ci/run should have installed it"
        );
        eprintln!("skipped: python3 has no prometheus_client (pip install prometheus_client)");
        return None;
    }
    assert!(
        output.status.success(),
        "prometheus_client could not parse the metrics: {}\n{text}",
        String::from_utf8_lossy(&output.stderr)
    );
    let samples = String::from_utf8(output.stdout).unwrap();
    Some(
        samples
            .lines()
            .filter_map(|line| {
                let (name, value) = line.rsplit_once(' ')?;
                Some((name.to_string(), value.parse().ok()?))
            })
            .collect(),
    )
}

fn start(extra: &[&str]) -> (Server, SocketAddr) {
    let mut args = vec!["--metrics", "127.0.0.1:0"];
    args.extend_from_slice(extra);
    let server = Server::builder().args(&args).capture_stdout().start();
    let line = server
        .stdout_line(Duration::from_secs(5))
        .expect("a `metrics on` line after the listening line");
    let addr = line
        .strip_prefix("metrics on http://")
        .unwrap_or_else(|| panic!("unexpected line {line:?}"))
        .parse::<SocketAddr>()
        .unwrap();
    assert_ne!(addr.port(), 0, "{line}");
    assert_ne!(addr.port(), server.addr().port(), "{line}");
    server.write("a.txt", "alpha\n");
    (server, addr)
}

fn scrape(addr: SocketAddr, target: &str) -> Response {
    let mut conn = Conn::connect(addr);
    conn.send(format!("GET {target} HTTP/1.1\r\nHost: x\r\n\r\n"));
    conn.read_response()
}

fn value(samples: &HashMap<String, f64>, name: &str) -> f64 {
    *samples
        .get(name)
        .unwrap_or_else(|| panic!("no sample {name} in {samples:?}"))
}

#[test]
fn counters_move_with_requests_and_parse() {
    let (server, addr) = start(&[]);
    for _ in 0..3 {
        assert_eq!(server.get("/a.txt").status, 200);
    }
    assert_eq!(server.get("/missing").status, 404);
    let response = scrape(addr, "/metrics");
    assert_eq!(response.status, 200, "{}", response.summary());
    assert!(response.says_close(), "{}", response.summary());
    assert!(
        response
            .header("content-type")
            .is_some_and(|t| t.starts_with("text/plain; version=0.0.4")),
        "{}",
        response.summary()
    );
    let text = response.body_text();
    assert!(
        text.contains("# TYPE tinyhttpd_loop_turn_seconds histogram"),
        "{text}"
    );
    let Some(samples) = parse(&text) else { return };
    let get_2xx = r#"tinyhttpd_requests_total{code_class="2xx",method="GET"}"#;
    assert!(value(&samples, get_2xx) >= 3.0, "{text}");
    let get_4xx = r#"tinyhttpd_requests_total{code_class="4xx",method="GET"}"#;
    assert!(value(&samples, get_4xx) >= 1.0, "{text}");
    assert!(
        value(&samples, "tinyhttpd_connections_accepted_total{}") >= 4.0,
        "{text}"
    );
    assert!(
        value(&samples, "tinyhttpd_response_bytes_total{}") > 18.0,
        "{text}"
    );
    assert!(
        value(&samples, "tinyhttpd_file_cache_hits_total{}") >= 2.0,
        "{text}"
    );
    assert!(
        value(&samples, "tinyhttpd_loop_turn_seconds_count{}") > 0.0,
        "{text}"
    );
    assert!(
        value(&samples, r#"tinyhttpd_loop_turn_seconds_bucket{le="+Inf"}"#) > 0.0,
        "{text}"
    );
    let before = value(&samples, get_2xx);
    assert_eq!(server.get("/a.txt").status, 200);
    let again = parse(&scrape(addr, "/metrics").body_text()).unwrap();
    assert_eq!(value(&again, get_2xx), before + 1.0);
}

#[test]
fn only_metrics_is_served_there() {
    let (_server, addr) = start(&[]);
    assert_eq!(scrape(addr, "/a.txt").status, 404);
    let mut conn = Conn::connect(addr);
    conn.send("POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
    assert_eq!(conn.read_response().status, 405);
}

#[test]
fn a_timeout_is_counted_by_kind() {
    let (server, addr) = start(&["--head-timeout", "1"]);
    let mut conn = server.connect();
    conn.send("GET /a.txt HTTP/1.1\r\n");
    assert_eq!(conn.read_response().status, 408);
    let Some(samples) = parse(&scrape(addr, "/metrics").body_text()) else {
        return;
    };
    assert_eq!(
        value(&samples, r#"tinyhttpd_timeouts_total{kind="head"}"#),
        1.0
    );
    assert_eq!(
        value(&samples, r#"tinyhttpd_refused_total{reason="timeout"}"#),
        1.0
    );
}

/// A connection that never sends a byte is under the head timeout, not the keep-alive one:
/// it is counted as `head`, and the keep-alive count stays at zero.
#[test]
fn a_silent_new_connection_times_out_as_head_not_keepalive() {
    let (server, addr) = start(&["--head-timeout", "1"]);
    let mut silent = server.connect();
    silent.set_read_timeout(std::time::Duration::from_secs(4));
    silent.wait_closed().expect("closed at the head timeout");
    let Some(samples) = parse(&scrape(addr, "/metrics").body_text()) else {
        return;
    };
    assert_eq!(
        value(&samples, r#"tinyhttpd_timeouts_total{kind="head"}"#),
        1.0
    );
    assert_eq!(
        value(&samples, r#"tinyhttpd_timeouts_total{kind="keepalive"}"#),
        0.0
    );
}

#[test]
fn one_scrape_sums_every_worker() {
    let (server, addr) = start(&["--workers", "2"]);
    // Fresh connections, so the kernel spreads them over both workers' sockets.
    const REQUESTS: usize = 40;
    for _ in 0..REQUESTS {
        assert_eq!(server.get("/a.txt").status, 200);
    }
    // Each scrape is answered by one worker or the other; every one sees all requests.
    for _ in 0..6 {
        let response = scrape(addr, "/metrics");
        assert_eq!(response.status, 200, "{}", response.summary());
        let Some(samples) = parse(&response.body_text()) else {
            return;
        };
        let get_2xx = r#"tinyhttpd_requests_total{code_class="2xx",method="GET"}"#;
        assert_eq!(value(&samples, get_2xx), REQUESTS as f64);
        assert_eq!(
            value(&samples, "tinyhttpd_connections_accepted_total{}"),
            REQUESTS as f64
        );
    }
}
