//! What the loop and its tasks share: the `Task` trait, why a task is woken (`Wake`), what it
//! answers (`Step`), its id (`TaskId`, generation-checked), and what it may ask of the loop
//! while it runs (`TaskContext`, and `Context` for spawning) or from anywhere (`Notifier`).

use std::cell::RefCell;
use std::ops::{Deref, DerefMut};
use std::os::fd::RawFd;
use std::rc::Rc;
use std::time::{Duration, Instant, SystemTime};

use crate::sys::epoll::{Interest, Readiness};

/// Why a task is being resumed: what happened since its last run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Wake {
    /// Its fd became readable (or hung up, or failed).
    pub readable: bool,
    /// Its fd became writable (or hung up, or failed).
    pub writable: bool,
    /// Its peer hung up (or the fd failed): reading will reach EOF or an error.
    pub hangup: bool,
    /// Its deadline passed.
    pub deadline: bool,
    /// Another task called `TaskContext::notify` for it, or something called `Notifier::notify`.
    pub notified: bool,
    /// The server is shutting down: finish what is in flight, take nothing new.
    pub shutdown: bool,
}

impl Wake {
    pub(in crate::runtime) fn add_readiness(&mut self, readiness: Readiness) {
        self.readable |= readiness.readable;
        self.writable |= readiness.writable;
        self.hangup |= readiness.hangup;
    }
}

/// What a task tells the loop when it stops running.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// An operation would block; resume me when my fd or my deadline says so.
    Blocked,
    /// I can go on but have used my share of this turn; queue me behind the others.
    Yield,
    /// Finished: drop me, which closes my fd.
    Done,
}

/// A resumable unit of work driven by the loop.
pub trait Task: Sized {
    /// The fd to register, edge-triggered, when the task is spawned, and what it waits for.
    fn source(&self) -> Option<(RawFd, Interest)>;

    /// Runs from where the task last stopped until it blocks, yields or finishes.
    fn resume(&mut self, wake: Wake, cx: &mut Context<'_, Self>) -> Step;
}

/// What a running task may ask of the loop, whatever the kind of task: the clock, its
/// deadline, and waking others. Code that never spawns (a connection) takes this, so it need
/// not be generic over the loop's task type.
pub struct TaskContext<'a> {
    id: TaskId,
    now: Instant,
    wall_clock: SystemTime,
    deadline: Option<Instant>,
    notified: &'a mut Vec<TaskId>,
}

impl TaskContext<'_> {
    /// The running task's own id, for others to `notify` it later.
    pub fn id(&self) -> TaskId {
        self.id
    }

    /// The loop's clock, read once per turn.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// Wall-clock time, read at the same moment as `now`.
    pub fn wall_clock(&self) -> SystemTime {
        self.wall_clock
    }

    /// The deadline currently set for this task.
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// Sets (or with `None` cancels) the one deadline at which this task is resumed with
    /// `Wake::deadline`, if nothing else resumes it first. It replaces any earlier deadline.
    pub fn set_deadline(&mut self, deadline: Option<Instant>) {
        self.deadline = deadline;
    }

    /// Queues another task with `Wake::notified`. A task that has finished is not woken, nor
    /// is one that took its slot since.
    pub fn notify(&mut self, task: TaskId) {
        self.notified.push(task);
    }
}

/// A `TaskContext` (through `Deref`) plus what needs the loop's task type: spawning, and
/// starting a shutdown.
pub struct Context<'a, T> {
    task: TaskContext<'a>,
    spawned: &'a mut Vec<T>,
    shutdown: &'a mut Option<Duration>,
}

impl<'a, T> Context<'a, T> {
    /// A context for task `id` at `now`; what the task spawns, notifies or asks for is left
    /// in the vectors and the option for the caller to act on.
    pub(in crate::runtime) fn new(
        id: TaskId,
        now: Instant,
        wall_clock: SystemTime,
        deadline: Option<Instant>,
        spawned: &'a mut Vec<T>,
        notified: &'a mut Vec<TaskId>,
        shutdown: &'a mut Option<Duration>,
    ) -> Context<'a, T> {
        Context {
            task: TaskContext {
                id,
                now,
                wall_clock,
                deadline,
                notified,
            },
            spawned,
            shutdown,
        }
    }

    /// Adds a new task to the loop. When the current task stops running, the loop registers
    /// the new one with epoll and queues it at the back of the run queue, its wake marked
    /// readable and writable as if its fd had just become ready. It runs in the next turn, not
    /// this one (the turn runs only the tasks queued before its run step began), and that
    /// turn's `epoll_wait` does not sleep, the run queue being non-empty. An accepted
    /// connection's request has usually arrived by then, and is read without waiting for epoll
    /// to report it; if not, the task meets `EAGAIN` and waits like any other.
    pub fn spawn(&mut self, task: T) {
        self.spawned.push(task);
    }

    /// Starts a graceful shutdown: every task is resumed with `Wake::shutdown`, and the loop
    /// ends when all have finished, or after `drain` with whatever is left dropped.
    pub fn begin_shutdown(&mut self, drain: Duration) {
        self.shutdown.get_or_insert(drain);
    }
}

impl<'a, T> Deref for Context<'a, T> {
    type Target = TaskContext<'a>;

    fn deref(&self) -> &TaskContext<'a> {
        &self.task
    }
}

impl<'a, T> DerefMut for Context<'a, T> {
    fn deref_mut(&mut self) -> &mut TaskContext<'a> {
        &mut self.task
    }
}

/// Wakes tasks from where no `Context` is at hand (a destructor), with `Wake::notified`, at the
/// start of the loop's next turn. Clones share one list; a notifier that no loop drains (as
/// under `memory::Detached`) only collects.
#[derive(Clone, Default)]
pub struct Notifier {
    pending: Rc<RefCell<Vec<TaskId>>>,
}

impl Notifier {
    /// Queues `task` as `TaskContext::notify` would; a task that has finished is not woken.
    pub fn notify(&self, task: TaskId) {
        self.pending.borrow_mut().push(task);
    }

    pub(in crate::runtime) fn take_one(&self) -> Option<TaskId> {
        self.pending.borrow_mut().pop()
    }
}

/// Names one task for ever: a slot index and the generation of its occupant, packed into
/// epoll's 64-bit user data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TaskId {
    pub(in crate::runtime) index: u32,
    pub(in crate::runtime) generation: u32,
}

impl TaskId {
    /// The id of task `index`, first generation: for tests of what stores ids.
    #[cfg(test)]
    pub(crate) fn for_test(index: u32) -> TaskId {
        TaskId {
            index,
            generation: 0,
        }
    }

    /// The id as one number (epoll's user data; a waiter token for code below the runtime).
    pub fn to_u64(self) -> u64 {
        (u64::from(self.generation) << 32) | u64::from(self.index)
    }

    /// The id `to_u64` gave; a stale one names no task, and waking it wakes nobody.
    pub fn from_u64(raw: u64) -> TaskId {
        TaskId {
            index: raw as u32,
            generation: (raw >> 32) as u32,
        }
    }
}
