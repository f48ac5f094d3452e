//! Discarding request bodies: `DiscardBody` reads a body (decoding chunked framing strictly)
//! and drops it, so the next request starts where it should; then the held response goes out.

use std::time::Instant;

use crate::runtime::task::{Step, TaskContext};
use crate::runtime::transport::Transport;
use crate::server::conn::{BodyLeft, Budget, Connection, Flow, Held, Inflow, State};

impl<S: Transport> Connection<S> {
    /// Reads and drops the request body, within the read budget, then answers `held`.
    pub(super) fn discard_body(
        &mut self,
        mut body: BodyLeft,
        held: Box<Held>,
        deadline: Instant,
        budget: &mut Budget,
        cx: &mut TaskContext<'_>,
    ) -> (State, Flow) {
        if !self.input.is_empty() {
            let buffered = self.input.filled();
            let used = match &mut body {
                BodyLeft::Length(left) => {
                    let used =
                        usize::try_from(*left).map_or(buffered.len(), |l| l.min(buffered.len()));
                    *left -= used as u64;
                    Ok(used)
                }
                BodyLeft::Chunked(decoder) => decoder.feed(buffered),
            };
            let used = match used {
                Ok(used) => used,
                // Framing is judged before the method: a malformed body gets its own status
                // in place of the held response (a 405, say), and the connection closes.
                Err(status) => return (self.refuse(status, held.log_line, cx), Flow::Continue),
            };
            self.input.consume(used);
            let finished = match &body {
                BodyLeft::Length(left) => *left == 0,
                BodyLeft::Chunked(decoder) => decoder.is_done(),
            };
            if finished {
                return (self.answer_or_compress(*held, false, cx), Flow::Continue);
            }
            let state = State::DiscardBody {
                body,
                held,
                deadline,
            };
            return (state, Flow::Continue);
        }
        let waiting = |body, held, step| {
            let state = State::DiscardBody {
                body,
                held,
                deadline,
            };
            (state, Flow::Stop(step))
        };
        if !self.can_read {
            return waiting(body, held, Step::Blocked);
        }
        if budget.read_bytes == 0 {
            return waiting(body, held, Step::Yield);
        }
        match self.receive(budget) {
            Inflow::End => (State::Done, Flow::Stop(Step::Done)),
            Inflow::Bytes => {
                let state = State::DiscardBody {
                    body,
                    held,
                    deadline,
                };
                (state, Flow::Continue)
            }
            Inflow::Dry => waiting(body, held, Step::Blocked),
        }
    }
}
