//! `tests/allocations.rs` with `--header` rules and `--cors`: matching the rules and the
//! origin, and writing their fields, allocate nothing per request either.
//!
//! This file holds one test on purpose: the allocator counts every thread of the process.

#[path = "common/counting_allocator.rs"]
mod counting_allocator;

#[path = "common/site.rs"]
pub mod site;

use tinyhttpd::http::cors::Cors;
use tinyhttpd::http::header_rules::{HeaderRule, HeaderRules};
use tinyhttpd::server::extra_fields::ExtraFields;
use tinyhttpd::server::simulate::Simulation;

const REQUEST: &[u8] =
    b"GET /assets/hot.txt HTTP/1.1\r\nHost: localhost\r\nOrigin: https://a.test\r\n\r\n";
const PIPELINE_DEPTH: usize = 16;
const BATCHES: usize = 500;

#[test]
fn steady_state_requests_with_headers_and_cors_do_not_allocate() {
    let site = site::TempDir::new();
    site::write_file_in(site.path(), "assets/hot.txt", vec![b'x'; 1024]);
    let rules = ["X-Global: yes", "/assets/** Cache-Control: max-age=60"]
        .map(|spec| HeaderRule::parse(spec).unwrap());
    let extra = ExtraFields {
        headers: HeaderRules::new(rules.to_vec(), "index.html").unwrap(),
        cors: Cors::new(vec!["https://b.test".into(), "https://a.test".into()]),
    };

    let mut sim = Simulation::with_extra_fields(site.path(), extra).unwrap();
    let batch: Vec<u8> = REQUEST.repeat(PIPELINE_DEPTH);
    // Warm up: the file cache, the connection's buffers, the Date header.
    for _ in 0..4 {
        sim.receive(&batch);
    }
    let warm_output = sim.output().len();
    sim.reserve_output(warm_output / 4 * BATCHES + 4096);
    for _ in 0..BATCHES {
        sim.queue_input(&batch);
    }

    let before = counting_allocator::allocations();
    for _ in 0..BATCHES {
        sim.run_readable();
    }
    let allocations = counting_allocator::allocations() - before;

    let fields = [
        b"\r\nX-Global: yes\r\n".as_slice(),
        b"\r\nCache-Control: max-age=60\r\n",
        b"\r\nAccess-Control-Allow-Origin: https://a.test\r\n",
    ];
    for field in fields {
        let count = sim
            .output()
            .windows(field.len())
            .filter(|w| w == &field)
            .count();
        assert_eq!(
            count,
            (BATCHES + 4) * PIPELINE_DEPTH,
            "{}",
            String::from_utf8_lossy(field)
        );
    }

    let responses = sim
        .output()
        .windows(15)
        .filter(|w| w == b"HTTP/1.1 200 OK")
        .count();
    assert_eq!(
        responses,
        (BATCHES + 4) * PIPELINE_DEPTH,
        "every request answered"
    );
    // A second boundary may re-render the Date header once; nothing may scale with the
    // 8000 requests served.
    assert!(
        allocations <= 4,
        "{allocations} allocations for {} requests",
        BATCHES * PIPELINE_DEPTH
    );
}
