//! Tests of the pool without a loop: completions are collected by polling its eventfd.

use super::*;
use crate::sys::epoll::{Epoll, Events, Interest};
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

/// How long a test waits for something that should take microseconds.
const PATIENCE: Duration = Duration::from_secs(10);

fn owner(n: u32) -> TaskId {
    TaskId::for_test(n)
}

/// Plays the completion task: waits on the pool's eventfd through epoll and calls
/// `complete` at each wake-up, until `enough` accepts the owners woken so far.
fn wake_until<O: Send + 'static>(
    pool: &Pool<O>,
    mut enough: impl FnMut(&[TaskId]) -> bool,
) -> Vec<TaskId> {
    let epoll = Epoll::new().unwrap();
    epoll.add(pool.fd(), 0, Interest::READABLE).unwrap();
    let mut events = Events::with_capacity(1);
    let deadline = Instant::now() + PATIENCE;
    let mut woken = Vec::new();
    while !enough(&woken) {
        let left = deadline
            .checked_duration_since(Instant::now())
            .expect("the pool never delivered");
        epoll.wait(&mut events, Some(left)).unwrap();
        pool.complete(|owner| woken.push(owner));
    }
    woken
}

/// Blocks a job until the test lets it go, and tells the test when it started.
struct Gate {
    started: mpsc::Receiver<()>,
    release: mpsc::Sender<()>,
}

fn gated_job<T: Send + 'static>(value: T) -> (Gate, impl FnOnce() -> T + Send + 'static) {
    let (started_tx, started) = mpsc::channel();
    let (release, release_rx) = mpsc::channel::<()>();
    let job = move || {
        started_tx.send(()).unwrap();
        let _ = release_rx.recv_timeout(PATIENCE);
        value
    };
    (Gate { started, release }, job)
}

impl Gate {
    fn wait_started(&self) {
        self.started.recv_timeout(PATIENCE).unwrap();
    }
    fn open(&self) {
        let _ = self.release.send(());
    }
}

/// A job for each of `n` threads that returns only when all `n` run at once (true), or
/// gives up after PATIENCE (false): proof that `n` threads are alive.
fn rendezvous(n: usize) -> impl Fn() -> bool + Clone + Send + 'static {
    let arrived = Arc::new((Mutex::new(0usize), Condvar::new()));
    move || {
        let (count, all_here) = &*arrived;
        let mut count = count.lock().unwrap();
        *count += 1;
        all_here.notify_all();
        let (_count, waited) = all_here
            .wait_timeout_while(count, PATIENCE, |count| *count < n)
            .unwrap();
        !waited.timed_out()
    }
}

#[test]
fn rejects_zero_threads_or_zero_capacity() {
    for (threads, capacity) in [(0, 4), (2, 0)] {
        let err = Pool::<()>::new(threads, capacity).err().unwrap();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    }
}

#[test]
fn delivers_each_result_to_its_owner() {
    let pool = Pool::new(2, 4).unwrap();
    let first = pool.submit(owner(1), || "one").unwrap();
    let second = pool.submit(owner(2), || "two").unwrap();
    let woken = wake_until(&pool, |woken| woken.len() == 2);
    assert!(woken.contains(&owner(1)) && woken.contains(&owner(2)));
    assert_eq!(first.take(), Some(Ok("one")));
    assert_eq!(second.take(), Some(Ok("two")));
    assert_eq!(first.take(), None, "a result is taken once");
    assert_eq!(pool.in_flight(), 0);
}

#[test]
fn a_ticket_dropped_before_its_job_ran_removes_the_job() {
    let pool = Pool::new(1, 4).unwrap();
    let (gate, blocker) = gated_job(0);
    let _blocking = pool.submit(owner(1), blocker).unwrap();
    gate.wait_started();

    let resource = Arc::new(());
    let ran = Arc::new(AtomicBool::new(false));
    let (held, flag) = (Arc::clone(&resource), Arc::clone(&ran));
    let dropped = pool
        .submit(owner(2), move || {
            flag.store(true, Ordering::SeqCst);
            drop(held);
            1
        })
        .unwrap();
    assert_eq!(Arc::strong_count(&resource), 2);
    drop(dropped);
    assert_eq!(Arc::strong_count(&resource), 1, "freed at once, unrun");
    assert_eq!(pool.in_flight(), 1);

    gate.open();
    let woken = wake_until(&pool, |_| pool.in_flight() == 0);
    assert_eq!(woken, [owner(1)]);
    assert!(!ran.load(Ordering::SeqCst));
}

#[test]
fn a_result_whose_ticket_was_dropped_while_running_is_dropped() {
    let pool = Pool::new(1, 4).unwrap();
    let resource = Arc::new(());
    let (gate, job) = gated_job(Arc::clone(&resource));
    let ticket = pool.submit(owner(1), job).unwrap();
    gate.wait_started();
    drop(ticket);
    gate.open();
    let woken = wake_until(&pool, |_| pool.in_flight() == 0);
    assert!(woken.is_empty(), "the owner is not woken: {woken:?}");
    assert_eq!(Arc::strong_count(&resource), 1);
}

#[test]
fn a_result_never_taken_is_dropped_with_its_ticket() {
    let pool = Pool::new(1, 4).unwrap();
    let resource = Arc::new(());
    let held = Arc::clone(&resource);
    let ticket = pool.submit(owner(1), move || held).unwrap();
    wake_until(&pool, |woken| woken == [owner(1)]);
    assert_eq!(Arc::strong_count(&resource), 2);
    drop(ticket);
    assert_eq!(Arc::strong_count(&resource), 1);
}

#[test]
fn a_stale_result_never_reaches_the_next_ticket_in_its_slot() {
    let pool = Pool::new(1, 4).unwrap();
    let (gate, job) = gated_job("stale");
    let stale = pool.submit(owner(1), job).unwrap();
    gate.wait_started();
    drop(stale);
    // The slot is free again: this ticket takes it, with a new generation.
    let fresh = pool.submit(owner(2), || "fresh").unwrap();
    gate.open();
    let woken = wake_until(&pool, |_| pool.in_flight() == 0);
    assert_eq!(woken, [owner(2)]);
    assert_eq!(fresh.take(), Some(Ok("fresh")));
}

#[test]
fn a_full_pool_rejects_then_wakes_the_waiters_when_a_job_is_collected() {
    // One thread, one queued job: two in flight at most.
    let pool = Pool::new(1, 1).unwrap();
    let (gate, blocker) = gated_job(1);
    let first = pool.submit(owner(1), blocker).unwrap();
    let second = pool.submit(owner(2), || 2).unwrap();
    assert_eq!(pool.submit(owner(3), || 3).err(), Some(Rejected::Full));
    pool.wait_for_space(owner(3));
    pool.wait_for_space(owner(3));

    // Nothing was collected yet: the waiter sleeps on.
    pool.complete(|owner| panic!("{owner:?} woken early"));
    gate.open();
    let woken = wake_until(&pool, |woken| woken.contains(&owner(3)));
    assert_eq!(woken.iter().filter(|&&id| id == owner(3)).count(), 1);
    assert_eq!(first.take(), Some(Ok(1)));
    let third = pool.submit(owner(3), || 3).unwrap();
    wake_until(&pool, |_| pool.in_flight() == 0);
    assert_eq!(second.take(), Some(Ok(2)));
    assert_eq!(third.take(), Some(Ok(3)));
}

#[test]
fn removing_a_queued_job_wakes_the_space_waiters() {
    let pool = Pool::new(1, 1).unwrap();
    let (gate, blocker) = gated_job(1);
    let _first = pool.submit(owner(1), blocker).unwrap();
    gate.wait_started();
    let queued = pool.submit(owner(2), || 2).unwrap();
    assert_eq!(pool.submit(owner(3), || 3).err(), Some(Rejected::Full));
    pool.wait_for_space(owner(3));
    drop(queued);
    let woken = wake_until(&pool, |woken| !woken.is_empty());
    assert_eq!(woken, [owner(3)], "woken while the first job still runs");
    assert!(pool.submit(owner(3), || 3).is_ok());
    gate.open();
}

#[test]
fn a_panicking_job_fails_alone_and_its_thread_goes_on() {
    let pool = Pool::new(2, 4).unwrap();
    // Both threads take one panicking job each: they meet, then panic.
    let meet = rendezvous(2);
    let panics: Vec<_> = (0..2)
        .map(|n| {
            let meet = meet.clone();
            let job = move || -> (bool, Option<String>) {
                assert!(meet());
                panic!("job {n} fails on purpose");
            };
            pool.submit(owner(n), job).unwrap()
        })
        .collect();
    wake_until(&pool, |woken| woken.len() == 2);
    for ticket in &panics {
        assert_eq!(ticket.take(), Some(Err(JobError::Panicked)));
    }

    // Two threads still run, at once, with their names: none was lost or replaced.
    let meet = rendezvous(2);
    let tickets: Vec<_> = (0..2)
        .map(|n| {
            let meet = meet.clone();
            let job = move || (meet(), thread::current().name().map(String::from));
            pool.submit(owner(n), job).unwrap()
        })
        .collect();
    wake_until(&pool, |woken| woken.len() == 2);
    let mut names = HashSet::new();
    for ticket in &tickets {
        let (met, name) = ticket.take().unwrap().unwrap();
        assert!(met, "the two jobs did not run at once");
        names.insert(name.unwrap());
    }
    let expected: HashSet<String> = ["tinyhttpd-pool-0", "tinyhttpd-pool-1"]
        .map(String::from)
        .into();
    assert_eq!(names, expected);
    assert!(pool.join(Instant::now() + PATIENCE));
}

#[test]
fn shutdown_cancels_queued_jobs_lets_running_ones_finish_and_joins() {
    let pool = Pool::new(1, 4).unwrap();
    let (gate, running) = gated_job(None);
    let resource = Arc::new(());
    let held = Arc::clone(&resource);
    let first = pool.submit(owner(1), running).unwrap();
    let queued = pool.submit(owner(2), move || Some(held)).unwrap();
    gate.wait_started();

    pool.shutdown();
    pool.shutdown();
    assert_eq!(
        Arc::strong_count(&resource),
        1,
        "the queued job was dropped"
    );
    assert_eq!(
        pool.submit(owner(3), || None).err(),
        Some(Rejected::ShutDown)
    );
    gate.open();
    let mut woken = wake_until(&pool, |woken| woken.len() == 2);
    woken.sort_by_key(|id| *id != owner(1));
    assert_eq!(woken, [owner(1), owner(2)]);
    assert_eq!(first.take(), Some(Ok(None)));
    assert_eq!(queued.take(), Some(Err(JobError::Cancelled)));
    assert_eq!(pool.in_flight(), 0);
    assert!(pool.join(Instant::now() + PATIENCE));
}

#[test]
fn shutdown_wakes_the_space_waiters() {
    let pool = Pool::new(1, 1).unwrap();
    let (gate, blocker) = gated_job(1);
    let _first = pool.submit(owner(1), blocker).unwrap();
    let _second = pool.submit(owner(2), || 2).unwrap();
    assert_eq!(pool.submit(owner(3), || 3).err(), Some(Rejected::Full));
    pool.wait_for_space(owner(3));
    pool.shutdown();
    wake_until(&pool, |woken| woken.contains(&owner(3)));
    assert_eq!(pool.submit(owner(3), || 3).err(), Some(Rejected::ShutDown));
    gate.open();
}

#[test]
fn join_gives_up_at_its_deadline_and_drop_never_waits() {
    let pool = Pool::new(1, 4).unwrap();
    let (gate, job) = gated_job(());
    let _ticket = pool.submit(owner(1), job).unwrap();
    gate.wait_started();
    let start = Instant::now();
    assert!(!pool.join(start + Duration::from_millis(50)));
    let waited = start.elapsed();
    assert!(waited >= Duration::from_millis(50) && waited < PATIENCE);
    gate.open();

    let pool = Pool::new(1, 4).unwrap();
    let (gate, job) = gated_job(());
    let _ticket = pool.submit(owner(1), job).unwrap();
    gate.wait_started();
    let start = Instant::now();
    drop(pool);
    assert!(start.elapsed() < PATIENCE / 2);
    gate.open();
}

#[test]
fn many_jobs_from_many_owners_are_each_delivered_once() {
    const OWNERS: u32 = 40;
    const JOBS_EACH: u32 = 5;
    // Twelve in flight at most, for forty owners: most submissions meet a full pool.
    let pool = Pool::new(3, 9).unwrap();
    let mut tickets: Vec<Option<JobTicket<(u32, u32)>>> = (0..OWNERS).map(|_| None).collect();
    let mut next_job = [0u32; OWNERS as usize];
    let mut ready: Vec<u32> = (0..OWNERS).collect();
    let mut full = 0;
    while next_job.iter().any(|&n| n < JOBS_EACH) {
        for n in ready.drain(..) {
            let job_number = next_job[n as usize];
            match pool.submit(owner(n), move || (n, job_number)) {
                Ok(ticket) => tickets[n as usize] = Some(ticket),
                Err(Rejected::Full) => {
                    full += 1;
                    pool.wait_for_space(owner(n));
                }
                Err(Rejected::ShutDown) => unreachable!(),
            }
        }
        for id in wake_until(&pool, |woken| !woken.is_empty()) {
            let n = (0..OWNERS).find(|&n| owner(n) == id).unwrap();
            let Some(ticket) = tickets[n as usize].take() else {
                ready.push(n); // woken for space
                continue;
            };
            assert_eq!(ticket.take(), Some(Ok((n, next_job[n as usize]))));
            assert_eq!(ticket.take(), None);
            next_job[n as usize] += 1;
            if next_job[n as usize] < JOBS_EACH {
                ready.push(n);
            }
        }
    }
    assert!(full > 0, "the pool was never full");
    assert_eq!(pool.in_flight(), 0);
    assert!(pool.join(Instant::now() + PATIENCE));
}

#[test]
fn completions_arriving_before_the_loop_collects_signal_once() {
    let pool = Pool::new(1, 4).unwrap();
    let tickets: Vec<_> = (0..3).map(|n| pool.submit(owner(n), move || n)).collect();
    let deadline = Instant::now() + PATIENCE;
    while lock(&pool.side.shared.completed).len() < 3 {
        assert!(Instant::now() < deadline, "the jobs never finished");
        thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(pool.side.shared.eventfd.drain().unwrap(), 1);
    let mut woken = Vec::new();
    pool.complete(|owner| woken.push(owner));
    assert_eq!(woken, [owner(0), owner(1), owner(2)]);
    for (n, ticket) in (0..).zip(tickets) {
        assert_eq!(ticket.unwrap().take(), Some(Ok(n)));
    }
}

#[test]
fn an_idle_pool_never_signals() {
    let pool = Pool::new(2, 4).unwrap();
    let eventfd = &pool.side.shared.eventfd;
    thread::sleep(Duration::from_millis(50));
    assert_eq!(
        eventfd.drain().unwrap_err().kind(),
        io::ErrorKind::WouldBlock
    );

    let ticket = pool.submit(owner(1), || 1).unwrap();
    wake_until(&pool, |woken| woken == [owner(1)]);
    assert_eq!(ticket.take(), Some(Ok(1)));
    // Its one completion collected, the pool is quiet again.
    thread::sleep(Duration::from_millis(50));
    assert_eq!(
        eventfd.drain().unwrap_err().kind(),
        io::ErrorKind::WouldBlock
    );
    pool.complete(|owner| panic!("{owner:?} woken by an idle pool"));
}

/// Jobs run at a lower priority than the loop's thread: a worker's nice value is
/// `WORKER_NICE` above the process's (read from /proc, as the thread sees itself).
#[test]
fn workers_run_below_the_loop_priority() {
    fn nice_of_this_thread() -> i64 {
        let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap();
        // Fields after the command name (which may hold spaces) start after the last ')';
        // nice is field 19, the 17th after it.
        let after_name = &stat[stat.rfind(')').unwrap() + 2..];
        after_name.split(' ').nth(16).unwrap().parse().unwrap()
    }
    let pool = Pool::new(1, 1).unwrap();
    let ticket = pool.submit(owner(1), nice_of_this_thread).unwrap();
    wake_until(&pool, |woken| woken.len() == 1);
    let worker = ticket.take().unwrap().unwrap();
    assert_eq!(worker, nice_of_this_thread() + i64::from(WORKER_NICE));
}
