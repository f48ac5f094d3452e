//! The Prometheus text exposition format (version 0.0.4): a `# HELP` and a `# TYPE` line per
//! metric, then one line per series, `name{label="value"} number`. Every label value here is
//! one of our constants, so nothing needs escaping.

use std::io::Write;

use super::{
    CODE_CLASSES, COMPRESSION_HITS, COMPRESSION_MISSES, CONNECTIONS_ACCEPTED, CONNECTIONS_OPEN,
    FILE_CACHE_HITS, FILE_CACHE_MISSES, METHOD_LABELS, Metrics, POOL_QUEUE_DEPTH, REFUSED,
    REFUSED_LABELS, REQUESTS, RESPONSE_BYTES, TIMEOUT_LABELS, TIMEOUTS, TURN_BUCKETS,
    TURN_BUCKETS_MICROS, TURN_COUNT, TURN_SUM_NANOS,
};

/// The `Content-Type` of the text format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Appends every metric, summed over all processes, to `out`.
pub fn render(metrics: &Metrics, out: &mut Vec<u8>) {
    // Writing into a Vec cannot fail.
    let _ = write_all(metrics, out);
}

fn write_all(m: &Metrics, out: &mut Vec<u8>) -> std::io::Result<()> {
    header(
        out,
        "tinyhttpd_requests_total",
        "counter",
        "Requests answered, by status class and method.",
    )?;
    for class in 0..CODE_CLASSES {
        for (label, method) in METHOD_LABELS.iter().enumerate() {
            let value = m.total(REQUESTS + class * METHOD_LABELS.len() + label);
            // A series appears once it has counted something: 50 mostly empty lines help
            // nobody, and a counter that appears later starting above 0 is what
            // Prometheus expects of a new series.
            if value > 0 {
                writeln!(
                    out,
                    "tinyhttpd_requests_total{{code_class=\"{}xx\",method=\"{method}\"}} {value}",
                    class + 1
                )?;
            }
        }
    }
    single(
        out,
        "tinyhttpd_response_bytes_total",
        "counter",
        "Bytes of responses (heads and bodies) written to clients.",
        m.total(RESPONSE_BYTES),
    )?;
    single(
        out,
        "tinyhttpd_connections_open",
        "gauge",
        "Client connections open now.",
        m.total(CONNECTIONS_OPEN),
    )?;
    single(
        out,
        "tinyhttpd_connections_accepted_total",
        "counter",
        "Client connections accepted.",
        m.total(CONNECTIONS_ACCEPTED),
    )?;
    labelled(
        out,
        "tinyhttpd_timeouts_total",
        "Connections whose deadline passed, by what they waited for.",
        "kind",
        &TIMEOUT_LABELS,
        |i| m.total(TIMEOUTS + i),
    )?;
    labelled(
        out,
        "tinyhttpd_refused_total",
        "Requests refused with an error that closed the connection, by reason.",
        "reason",
        &REFUSED_LABELS,
        |i| m.total(REFUSED + i),
    )?;
    let caches = [
        (
            "tinyhttpd_file_cache_hits_total",
            "Open-file cache lookups answered from the cache.",
            FILE_CACHE_HITS,
        ),
        (
            "tinyhttpd_file_cache_misses_total",
            "Open-file cache lookups that went to the file system.",
            FILE_CACHE_MISSES,
        ),
        (
            "tinyhttpd_compression_cache_hits_total",
            "Compressed variants found in the cache.",
            COMPRESSION_HITS,
        ),
        (
            "tinyhttpd_compression_cache_misses_total",
            "Compressed variants not in the cache.",
            COMPRESSION_MISSES,
        ),
    ];
    for (name, help, index) in caches {
        single(out, name, "counter", help, m.total(index))?;
    }
    single(
        out,
        "tinyhttpd_pool_queue_depth",
        "gauge",
        "Jobs waiting for or running on the worker pool.",
        m.total(POOL_QUEUE_DEPTH),
    )?;
    header(
        out,
        "tinyhttpd_loop_turn_seconds",
        "histogram",
        "Time each event-loop turn spent running tasks (the loop's lag).",
    )?;
    let mut cumulative = 0u64;
    for (i, bound) in TURN_BUCKETS_MICROS.iter().enumerate() {
        cumulative = cumulative.wrapping_add(m.total(TURN_BUCKETS + i));
        let seconds = *bound as f64 / 1e6;
        writeln!(
            out,
            "tinyhttpd_loop_turn_seconds_bucket{{le=\"{seconds}\"}} {cumulative}"
        )?;
    }
    let count = m.total(TURN_COUNT);
    writeln!(
        out,
        "tinyhttpd_loop_turn_seconds_bucket{{le=\"+Inf\"}} {count}"
    )?;
    let sum = m.total(TURN_SUM_NANOS) as f64 / 1e9;
    writeln!(out, "tinyhttpd_loop_turn_seconds_sum {sum}")?;
    writeln!(out, "tinyhttpd_loop_turn_seconds_count {count}")
}

fn header(out: &mut Vec<u8>, name: &str, kind: &str, help: &str) -> std::io::Result<()> {
    writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}")
}

fn single(
    out: &mut Vec<u8>,
    name: &str,
    kind: &str,
    help: &str,
    value: u64,
) -> std::io::Result<()> {
    header(out, name, kind, help)?;
    writeln!(out, "{name} {value}")
}

fn labelled(
    out: &mut Vec<u8>,
    name: &str,
    help: &str,
    label: &str,
    values: &[&str],
    value: impl Fn(usize) -> u64,
) -> std::io::Result<()> {
    header(out, name, "counter", help)?;
    for (i, v) in values.iter().enumerate() {
        writeln!(out, "{name}{{{label}=\"{v}\"}} {}", value(i))?;
    }
    Ok(())
}
