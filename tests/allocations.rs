//! The hot path allocates nothing per request: once a connection and the file cache are
//! warm, answering thousands of pipelined requests for a cached file makes no allocation
//! that grows with the number of requests. A counting global allocator proves it.
//!
//! This file holds one test on purpose: the allocator counts every thread of the process.

#[path = "common/counting_allocator.rs"]
mod counting_allocator;

#[path = "common/site.rs"]
pub mod site;

use tinyhttpd::server::simulate::Simulation;

const REQUEST: &[u8] = b"GET /hot.txt HTTP/1.1\r\nHost: localhost\r\nUser-Agent: test\r\n\r\n";
const PIPELINE_DEPTH: usize = 16;
const BATCHES: usize = 500;

#[test]
fn steady_state_requests_do_not_allocate() {
    let site = site::TempDir::new();
    site::write_file_in(site.path(), "hot.txt", vec![b'x'; 1024]);

    let mut sim = Simulation::new(site.path()).unwrap();
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
