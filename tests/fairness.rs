//! A connection shares the loop: however much work one client hands it at once, it gives up
//! its turn (`Step::Yield`) after a bounded amount, so the others get theirs. Driven over
//! memory, where each yield is counted.

#[path = "common/site.rs"]
pub mod site;

use tinyhttpd::server::simulate::Simulation;

fn new_site() -> site::TempDir {
    let dir = site::TempDir::new();
    // Just under the in-memory limit: answered by copying into the output buffer.
    site::write_file_in(dir.path(), "16k.bin", vec![b'x'; 16 * 1024]);
    dir
}

#[test]
fn many_in_memory_responses_yield_to_others() {
    let site = new_site();
    let mut sim = Simulation::new(site.path()).unwrap();
    // 200 pipelined requests, 3.2 MB of responses that need no file I/O at all.
    let request = b"GET /16k.bin HTTP/1.1\r\nHost: a\r\n\r\n";
    sim.receive(&request.repeat(200));
    let responses = sim
        .output()
        .windows(15)
        .filter(|w| w == b"HTTP/1.1 200 OK")
        .count();
    assert_eq!(responses, 200);
    assert!(
        sim.yields() >= 2,
        "3.2 MB written without yielding more than {} times",
        sim.yields()
    );
}

#[test]
fn a_client_flooding_a_closing_connection_yields_to_others() {
    let site = new_site();
    let mut sim = Simulation::new(site.path()).unwrap();
    // A refused request (so the connection lingers), then 4 MiB the client keeps sending,
    // all there at the next readiness edge.
    sim.receive(b"GET /%zz HTTP/1.1\r\nHost: a\r\n\r\n");
    sim.receive(&vec![b'y'; 4 << 20]);
    assert!(sim.output().starts_with(b"HTTP/1.1 400 Bad Request\r\n"));
    assert!(
        sim.yields() >= 4,
        "4 MiB drained without yielding more than {} times",
        sim.yields()
    );
}
