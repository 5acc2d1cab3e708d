//! Worker threads for commands' blocking parts (`Reply::Later`): each job runs on its own
//! thread (a job blocked on a FIFO must not hold up another), and its output comes back to
//! the main loop through a channel and a mio waker.

use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};

use mio::{Registry, Token, Waker};
use serde_json::Value;

use crate::vm::{Job, JobOutput};

/// Who waits for a job's reply.
#[derive(Debug, Clone, PartialEq)]
pub struct JobOwner {
    /// The monitor's slot.
    pub monitor: usize,
    /// The slot's connection when the command came; a later client in the same slot has
    /// another, and must not get this reply.
    pub generation: u64,
    /// The request's `id`.
    pub id: Option<Value>,
    pub oob: bool,
}

pub struct Finished {
    pub owner: JobOwner,
    pub output: JobOutput,
}

pub struct JobRunner {
    tx: Sender<Finished>,
    rx: Receiver<Finished>,
    waker: Arc<Waker>,
}

impl JobRunner {
    /// A runner whose completions make `token` readable in `registry`'s poll.
    pub fn new(registry: &Registry, token: Token) -> std::io::Result<JobRunner> {
        let (tx, rx) = channel();
        Ok(JobRunner {
            tx,
            rx,
            waker: Arc::new(Waker::new(registry, token)?),
        })
    }

    /// Runs `job` on a new thread; if no thread can be made, runs it here (blocking, as
    /// QEMU would) so that its completion still comes.
    pub fn spawn(&self, owner: JobOwner, job: Job) {
        let slot = Arc::new(Mutex::new(Some(job)));
        let (tx, waker) = (self.tx.clone(), self.waker.clone());
        let theirs = slot.clone();
        let owner2 = owner.clone();
        let spawned = std::thread::Builder::new()
            .name("vmm-job".into())
            .spawn(move || {
                let job = theirs.lock().unwrap_or_else(|e| e.into_inner()).take();
                if let Some(job) = job {
                    // The loop may be gone (the process is exiting): nobody to tell then.
                    let _ = tx.send(Finished {
                        owner: owner2,
                        output: job.run(),
                    });
                    let _ = waker.wake();
                }
            });
        if spawned.is_err() {
            let job = slot.lock().unwrap_or_else(|e| e.into_inner()).take();
            if let Some(job) = job {
                let _ = self.tx.send(Finished {
                    owner,
                    output: job.run(),
                });
                let _ = self.waker.wake();
            }
        }
    }

    /// The next finished job, if any.
    pub fn try_recv(&self) -> Option<Finished> {
        self.rx.try_recv().ok()
    }
}
