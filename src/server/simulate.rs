//! A connection driven over memory instead of a socket, resumed exactly as the loop would
//! resume it: the basis of the byte-split tests and the fuzz target.

use std::io;
use std::path::Path;
use std::rc::Rc;
use std::time::{Duration, Instant};

use crate::runtime::memory::Detached;
use crate::runtime::memory::MemoryTransport;
use crate::runtime::task::{Notifier, Step, Wake};
use crate::server::conn::Connection;
use crate::server::extra_fields::ExtraFields;
use crate::server::shared::Shared;
use crate::server::shared::Timeouts;
use crate::server::slots::ConnectionSlot;
use crate::site::files::Site;
use crate::site::options::SiteOptions;

/// More resumes than this without blocking means a task that never yields control.
const MAX_RESUMES_PER_EVENT: usize = 10_000;

pub struct Simulation {
    connection: Connection<MemoryTransport>,
    driver: Detached<()>,
    now: Instant,
    done: bool,
    yields: usize,
}

impl Simulation {
    /// A connection to a site served from `root`, with default limits.
    pub fn new(root: &Path) -> io::Result<Simulation> {
        Simulation::with_extra_fields(root, ExtraFields::default())
    }

    /// The same, adding `extra` (`--header`, `--cors`) to responses.
    pub fn with_extra_fields(root: &Path, extra: ExtraFields) -> io::Result<Simulation> {
        let options = SiteOptions::default();
        let site = Site::open(root, options)?;
        let timeouts = Timeouts {
            head: Duration::from_secs(10),
            body: Duration::from_secs(10),
            keepalive: Duration::from_secs(60),
            send: Duration::from_secs(30),
        };
        let shared = Rc::new(Shared::new(
            site,
            extra,
            None,
            timeouts,
            1024 * 1024,
            1,
            Notifier::default(),
        ));
        let now = Instant::now();
        let slot = ConnectionSlot::claim(shared.slots());
        Ok(Simulation {
            connection: Connection::new(MemoryTransport::default(), None, slot, shared, now),
            driver: Detached::default(),
            now,
            done: false,
            yields: 0,
        })
    }

    /// Delivers `chunk` as one read's worth and runs the connection until it blocks.
    pub fn receive(&mut self, chunk: &[u8]) {
        self.queue_input(chunk);
        self.run_readable();
    }

    /// Queues `chunk` for the connection to read, without running it yet.
    pub fn queue_input(&mut self, chunk: &[u8]) {
        self.connection.stream_mut().push_input(chunk);
    }

    /// Runs the connection as after a readiness edge, until it blocks.
    pub fn run_readable(&mut self) {
        self.run(Wake {
            readable: true,
            writable: true,
            ..Wake::default()
        });
    }

    /// Makes room for `bytes` of output up front, so the memory transport itself does not
    /// allocate while it is measured.
    pub fn reserve_output(&mut self, bytes: usize) {
        self.connection.stream_mut().output.reserve(bytes);
    }

    /// The client closes its side; runs the connection until it blocks or finishes.
    pub fn close_input(&mut self) {
        self.connection.stream_mut().close_input();
        self.run(Wake {
            readable: true,
            writable: true,
            hangup: true,
            ..Wake::default()
        });
    }

    /// Lets time pass up to the connection's deadline and runs it, as a timer would.
    pub fn expire_deadline(&mut self) {
        if let Some(deadline) = self.driver.deadline {
            self.now = self.now.max(deadline);
            self.run(Wake {
                deadline: true,
                ..Wake::default()
            });
        }
    }

    /// Everything the server has written so far.
    pub fn output(&self) -> &[u8] {
        &self.connection.stream().output
    }

    /// Whether the server has shut down its side.
    pub fn output_closed(&self) -> bool {
        self.connection.stream().output_closed
    }

    /// How many times the connection gave up its turn with work left (`Step::Yield`).
    pub fn yields(&self) -> usize {
        self.yields
    }

    /// Whether the connection task has finished.
    pub fn is_done(&self) -> bool {
        self.done
    }

    fn run(&mut self, mut wake: Wake) {
        for _ in 0..MAX_RESUMES_PER_EVENT {
            if self.done {
                return;
            }
            let connection = &mut self.connection;
            let step = self
                .driver
                .resume(self.now, |cx| connection.resume(wake, cx));
            match step {
                Step::Blocked => return,
                Step::Done => self.done = true,
                Step::Yield => {
                    self.yields += 1;
                    wake = Wake::default();
                }
            }
        }
        panic!("connection kept running without blocking");
    }
}
