//! The event loop: one thread, one epoll instance, a table of tasks and a run queue.
//!
//! A *task* is a resumable state machine (`Task::resume`). It runs until an operation would
//! block, records where it stopped, and returns to the loop. Each turn of the loop:
//!
//! ```text
//!   timeout = 0 if the run queue is non-empty
//!           | time to the nearest deadline (rounded up to 1 ms)
//!           | infinite when nothing is pending
//!   epoll_wait(timeout)            -- the only place the thread sleeps
//!   now = clock()                  -- read once per turn
//!   for each ready fd:     add its readiness to the task's wake bits, queue it (once)
//!   for each due deadline: add the timer bit, queue the task (once)
//!   run the tasks that were queued when this step began, head first:
//!       Blocked -> waits for its next event or deadline
//!       Yield   -> back to the tail: it spent its budget, others go first
//!       Done    -> removed, its fd closed, its deadline cancelled
//! ```
//!
//! Code that holds no `Context`, such as a destructor, can still wake a task through a
//! `Notifier`: the loop queues those wake-ups at the start of the next turn, before it decides
//! how long to sleep, so none is lost however the task that asked for it ended.
//!
//! Invariant: a task is in the run queue at most once (`Entry::queued`), and a token names one
//! task for ever: slots are reused with a new generation, so an event for a closed connection
//! can never wake the connection that took its slot.

use std::collections::VecDeque;
use std::io;
use std::time::{Duration, Instant, SystemTime};

use crate::runtime::error_log::{self, Event};
use crate::runtime::task::{Context, Notifier, Step, Task, TaskId, Wake};
use crate::runtime::timer::Timers;
use crate::sys::epoll::{Epoll, Events};

/// How many epoll events one wait can return; more ready fds are reported next turn.
const EVENTS_PER_WAIT: usize = 1024;

/// How `EventLoop::run` ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// Every task finished.
    Finished,
    /// A shutdown's drain time ran out; this many tasks were dropped unfinished.
    DrainExpired { abandoned: usize },
}

struct Entry<T> {
    task: T,
    wake: Wake,
    queued: bool,
    deadline: Option<Instant>,
}

struct Slot<T> {
    generation: u32,
    entry: Option<Entry<T>>,
}

pub struct EventLoop<T: Task> {
    epoll: Epoll,
    events: Events,
    slots: Vec<Slot<T>>,
    free_slots: Vec<u32>,
    live_tasks: usize,
    run_queue: VecDeque<TaskId>,
    timers: Timers,
    spawned: Vec<T>,
    notified: Vec<TaskId>,
    notifier: Notifier,
    shutdown_requested: Option<Duration>,
    /// Set once a shutdown has begun: when the loop gives up on the tasks still running.
    drain_deadline: Option<Instant>,
    /// Told how long each turn ran (`on_turn`); `None` costs nothing.
    turn_hook: Option<TurnHook>,
}

/// Called after each turn with the time it spent between `epoll_wait` calls.
pub type TurnHook = Box<dyn FnMut(Duration)>;

impl<T: Task> EventLoop<T> {
    pub fn new() -> io::Result<EventLoop<T>> {
        Ok(EventLoop {
            epoll: Epoll::new()?,
            events: Events::with_capacity(EVENTS_PER_WAIT),
            slots: Vec::new(),
            free_slots: Vec::new(),
            live_tasks: 0,
            run_queue: VecDeque::new(),
            timers: Timers::default(),
            spawned: Vec::new(),
            notified: Vec::new(),
            notifier: Notifier::default(),
            shutdown_requested: None,
            drain_deadline: None,
            turn_hook: None,
        })
    }

    /// A handle through which anything may wake this loop's tasks, without a `Context`.
    pub fn notifier(&self) -> Notifier {
        self.notifier.clone()
    }

    /// Has `hook` told, before each wait, how long the turn before it ran: from the clock
    /// read after one `epoll_wait` to the one read before the next, so it costs no clock
    /// read of its own.
    pub fn on_turn(&mut self, hook: TurnHook) {
        self.turn_hook = Some(hook);
    }

    /// Adds a task and registers its fd.
    pub fn spawn(&mut self, task: T) -> io::Result<TaskId> {
        let source = task.source();
        let token = self.insert(task);
        if let Some((fd, interest)) = source
            && let Err(e) = self.epoll.add(fd, token.to_u64(), interest)
        {
            self.remove(token);
            return Err(e);
        }
        Ok(token)
    }

    /// Turns the loop until no task is left, or a shutdown's drain time runs out.
    /// Only a failing epoll is an error.
    pub fn run(&mut self) -> io::Result<Exit> {
        let mut busy_since = None;
        while self.live_tasks > 0 {
            self.turn(&mut busy_since)?;
            if self.live_tasks > 0 && self.drain_deadline.is_some_and(|d| d <= Instant::now()) {
                return Ok(Exit::DrainExpired {
                    abandoned: self.live_tasks,
                });
            }
        }
        Ok(Exit::Finished)
    }

    /// One turn that waits at most `max_wait`: for tests that follow the loop step by step.
    #[cfg(test)]
    pub(crate) fn turn_within(&mut self, max_wait: Duration) -> io::Result<()> {
        // A deadline for no task bounds the wait; when it passes, it wakes nothing.
        let nobody = TaskId {
            index: u32::MAX,
            generation: 0,
        };
        self.timers
            .insert(Instant::now() + max_wait, nobody.to_u64());
        self.turn(&mut None)
    }

    fn turn(&mut self, busy_since: &mut Option<Instant>) -> io::Result<()> {
        while let Some(task) = self.notifier.take_one() {
            self.wake(task, |wake| wake.notified = true);
        }
        let before_wait = Instant::now();
        if let (Some(hook), Some(since)) = (&mut self.turn_hook, *busy_since) {
            hook(before_wait.saturating_duration_since(since));
        }
        let timeout = self.timeout(before_wait);
        self.epoll.wait(&mut self.events, timeout)?;
        let now = Instant::now();
        *busy_since = Some(now);
        let wall_clock = SystemTime::now();

        // The buffer is lent out while the tasks it names are woken, then put back for reuse.
        let events = std::mem::take(&mut self.events);
        for (raw, readiness) in events.iter() {
            self.wake(TaskId::from_u64(raw), |wake| wake.add_readiness(readiness));
        }
        self.events = events;
        while let Some(raw) = self.timers.pop_expired(now) {
            let token = TaskId::from_u64(raw);
            if let Some(entry) = self.entry_mut(token) {
                entry.deadline = None;
            }
            self.wake(token, |wake| wake.deadline = true);
        }

        // Only the tasks queued before this step run now; one that yields waits for the next turn.
        for _ in 0..self.run_queue.len() {
            let Some(token) = self.run_queue.pop_front() else {
                break;
            };
            self.resume(token, now, wall_clock);
        }
        Ok(())
    }

    fn timeout(&self, now: Instant) -> Option<Duration> {
        if !self.run_queue.is_empty() {
            return Some(Duration::ZERO);
        }
        let nearest = match (self.timers.next_deadline(), self.drain_deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        nearest.map(|deadline| deadline.saturating_duration_since(now))
    }

    /// Records why `token` should run and queues it, unless it is queued already.
    fn wake(&mut self, token: TaskId, why: impl FnOnce(&mut Wake)) {
        let Some(entry) = self.entry_mut(token) else {
            return; // a stale event for a task that has finished
        };
        why(&mut entry.wake);
        if !entry.queued {
            entry.queued = true;
            self.run_queue.push_back(token);
        }
    }

    fn resume(&mut self, token: TaskId, now: Instant, wall_clock: SystemTime) {
        let Some(entry) = self
            .slots
            .get_mut(token.index as usize)
            .filter(|slot| slot.generation == token.generation)
            .and_then(|slot| slot.entry.as_mut())
        else {
            return;
        };
        let wake = std::mem::take(&mut entry.wake);
        let old_deadline = entry.deadline;
        let mut cx = Context::new(
            token,
            now,
            wall_clock,
            old_deadline,
            &mut self.spawned,
            &mut self.notified,
            &mut self.shutdown_requested,
        );
        let step = entry.task.resume(wake, &mut cx);
        let new_deadline = cx.deadline();

        if new_deadline != old_deadline {
            if let Some(deadline) = old_deadline {
                self.timers.remove(deadline, token.to_u64());
            }
            if let Some(deadline) = new_deadline {
                self.timers.insert(deadline, token.to_u64());
            }
            entry.deadline = new_deadline;
        }
        match step {
            Step::Blocked => entry.queued = false,
            Step::Yield => self.run_queue.push_back(token),
            Step::Done => self.remove(token),
        }

        while let Some(task) = self.spawned.pop() {
            // A task that cannot be registered is dropped, which closes its fd: that
            // connection is refused, the others carry on.
            match self.spawn(task) {
                Ok(spawned) => self.wake(spawned, |wake| {
                    wake.readable = true;
                    wake.writable = true;
                }),
                Err(e) => error_log::error(
                    Event::Register,
                    format_args!("cannot register a new task with epoll: {e}"),
                ),
            }
        }
        while let Some(task) = self.notified.pop() {
            self.wake(task, |wake| wake.notified = true);
        }
        if let Some(drain) = self.shutdown_requested.take()
            && self.drain_deadline.is_none()
        {
            self.drain_deadline = Some(now + drain);
            for index in 0..self.slots.len() {
                let slot = &self.slots[index];
                if slot.entry.is_some() {
                    let task = TaskId {
                        index: index as u32,
                        generation: slot.generation,
                    };
                    self.wake(task, |wake| wake.shutdown = true);
                }
            }
        }
    }

    fn entry_mut(&mut self, token: TaskId) -> Option<&mut Entry<T>> {
        let slot = self.slots.get_mut(token.index as usize)?;
        if slot.generation != token.generation {
            return None;
        }
        slot.entry.as_mut()
    }

    fn insert(&mut self, task: T) -> TaskId {
        let entry = Entry {
            task,
            wake: Wake::default(),
            queued: false,
            deadline: None,
        };
        self.live_tasks += 1;
        if let Some(index) = self.free_slots.pop() {
            let slot = &mut self.slots[index as usize];
            slot.entry = Some(entry);
            return TaskId {
                index,
                generation: slot.generation,
            };
        }
        let index = u32::try_from(self.slots.len()).expect("more than 2^32 tasks");
        self.slots.push(Slot {
            generation: 0,
            entry: Some(entry),
        });
        TaskId {
            index,
            generation: 0,
        }
    }

    fn remove(&mut self, token: TaskId) {
        let Some(slot) = self.slots.get_mut(token.index as usize) else {
            return;
        };
        if slot.generation != token.generation {
            return;
        }
        if let Some(entry) = slot.entry.take() {
            if let Some(deadline) = entry.deadline {
                self.timers.remove(deadline, token.to_u64());
            }
            slot.generation = slot.generation.wrapping_add(1);
            self.free_slots.push(token.index);
            self.live_tasks -= 1;
        }
    }
}
