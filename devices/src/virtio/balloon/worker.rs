//! The balloon's worker thread: one epoll loop over the queue eventfds, the stats timer, the
//! handle's control eventfd and a stop eventfd. Started at DRIVER_OK, joined at reset.

use std::io;
use std::os::fd::AsRawFd;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use virtio_queue::Queue;
use vm_memory::GuestMemoryMmap;
use vmm_sys_util::epoll::{ControlOperation, Epoll, EpollEvent, EventSet};
use vmm_sys_util::eventfd::EventFd;
use vmm_sys_util::timerfd::TimerFd;

use super::handle::Shared;
use super::queues::{self, DriverBug, Progress};
use super::reclaim::MemoryReclaimer;
use crate::bus::lock;
use crate::virtio::device::{VirtioInterrupt, VirtioInterruptType};

/// What a queue is for, from the negotiated features.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Inflate,
    Deflate,
    Stats,
    Reporting,
}

pub struct RoleQueue {
    pub role: Role,
    pub index: u16,
    pub queue: Queue,
    pub event: EventFd,
}

pub struct WorkerContext {
    pub mem: GuestMemoryMmap<()>,
    pub interrupt: Arc<dyn VirtioInterrupt>,
    pub reclaimer: Arc<dyn MemoryReclaimer>,
    pub shared: Arc<Shared>,
    pub queues: Vec<RoleQueue>,
}

const TOKEN_STOP: u64 = u64::MAX;
const TOKEN_CONTROL: u64 = u64::MAX - 1;
const TOKEN_TIMER: u64 = u64::MAX - 2;

/// A running worker; dropping it without [`Worker::stop`] also stops it.
pub struct Worker {
    stop: EventFd,
    thread: Option<JoinHandle<()>>,
}

impl Worker {
    pub fn start(ctx: WorkerContext) -> io::Result<Worker> {
        let stop = EventFd::new(libc::EFD_NONBLOCK)?;
        let epoll = Epoll::new()?;
        let add = |fd: i32, token: u64| {
            epoll.ctl(
                ControlOperation::Add,
                fd,
                EpollEvent::new(EventSet::IN, token),
            )
        };
        add(stop.as_raw_fd(), TOKEN_STOP)?;
        add(ctx.shared.control.as_raw_fd(), TOKEN_CONTROL)?;
        let timer = TimerFd::new()?;
        add(timer.as_raw_fd(), TOKEN_TIMER)?;
        for (i, q) in ctx.queues.iter().enumerate() {
            add(q.event.as_raw_fd(), i as u64)?;
        }
        let mut state = Loop {
            ctx,
            epoll,
            timer,
            held_stats: None,
            interval: 0,
            broken: false,
        };
        let thread = thread::Builder::new()
            .name("virtio-balloon".to_string())
            .spawn(move || state.run())?;
        Ok(Worker {
            stop,
            thread: Some(thread),
        })
    }

    /// Stops the thread and waits for it: afterwards no queue or guest memory is touched.
    pub fn stop(mut self) {
        self.halt();
    }

    fn halt(&mut self) {
        let _ = self.stop.write(1);
        if let Some(t) = self.thread.take() {
            if t.join().is_err() {
                log::error!("virtio-balloon: worker thread panicked");
            }
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.halt();
    }
}

struct Loop {
    ctx: WorkerContext,
    epoll: Epoll,
    timer: TimerFd,
    /// QEMU's "hold one buffer": the stats buffer the guest last filled, returned to it at
    /// the next poll so it refills it.
    held_stats: Option<u16>,
    /// The polling interval the timer is armed for.
    interval: u32,
    /// A driver bug was seen: NEEDS_RESET is set and the queues are left alone.
    broken: bool,
}

impl Loop {
    fn run(&mut self) {
        self.apply_interval();
        // Buffers posted before DRIVER_OK (or whose notification was lost) are seen now.
        for i in 0..self.ctx.queues.len() {
            self.service(i);
        }
        let mut events = vec![EpollEvent::default(); self.ctx.queues.len() + 3];
        loop {
            let n = match self.epoll.wait(-1, &mut events) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    log::error!("virtio-balloon: epoll_wait: {e}");
                    return;
                }
            };
            for ev in &events[..n] {
                match ev.data() {
                    TOKEN_STOP => return,
                    TOKEN_CONTROL => {
                        let _ = self.ctx.shared.control.read();
                        self.apply_interval();
                    }
                    TOKEN_TIMER => {
                        let _ = self.timer.wait();
                        self.stats_timer_expired();
                    }
                    i => {
                        let i = i as usize;
                        if let Some(q) = self.ctx.queues.get(i) {
                            let _ = q.event.read();
                            self.service(i);
                        }
                    }
                }
            }
        }
    }

    fn arm(&mut self, after: Duration) {
        if let Err(e) = self.timer.reset(after, None) {
            log::error!("virtio-balloon: stats timer: {e}");
        }
    }

    fn has_stats(&self) -> bool {
        self.ctx.queues.iter().any(|q| q.role == Role::Stats)
    }

    /// Follows a polling-interval change: 0 disarms, a start from 0 polls now, any other
    /// change restarts the period from now (QEMU's `balloon_stats_set_poll_interval`).
    fn apply_interval(&mut self) {
        let new = self.ctx.shared.polling_interval.load(Ordering::SeqCst);
        if new == self.interval || !self.has_stats() {
            self.interval = new;
            return;
        }
        let old = std::mem::replace(&mut self.interval, new);
        if new == 0 {
            let _ = self.timer.clear();
        } else if old == 0 {
            // timerfd treats zero as "disarm"; a nanosecond is "now".
            self.arm(Duration::from_nanos(1));
        } else {
            self.arm(Duration::from_secs(u64::from(new)));
        }
    }

    /// QEMU's `balloon_stats_poll_cb`: give the held buffer back so the guest refills it; if
    /// there is none yet, try again a period later.
    fn stats_timer_expired(&mut self) {
        if self.broken || self.interval == 0 {
            return;
        }
        let Some(head) = self.held_stats.take() else {
            self.arm(Duration::from_secs(u64::from(self.interval)));
            return;
        };
        let Some(i) = self.ctx.queues.iter().position(|q| q.role == Role::Stats) else {
            return;
        };
        let index = self.ctx.queues[i].index;
        let result = queues::return_buffer(&mut self.ctx.queues[i].queue, &self.ctx.mem, head);
        match result {
            Ok(()) => self
                .ctx
                .interrupt
                .trigger(VirtioInterruptType::Queue(index)),
            Err(e) => self.driver_bug(e),
        }
    }

    fn service(&mut self, i: usize) {
        if self.broken {
            return;
        }
        let result = match self.ctx.queues[i].role {
            Role::Inflate => {
                let r = self.ctx.reclaimer.clone();
                queues::process_pfn_queue(
                    &mut self.ctx.queues[i].queue,
                    &self.ctx.mem,
                    Some(r.as_ref()),
                )
            }
            Role::Deflate => {
                queues::process_pfn_queue(&mut self.ctx.queues[i].queue, &self.ctx.mem, None)
            }
            Role::Reporting => {
                let r = self.ctx.reclaimer.clone();
                queues::process_reporting_queue(
                    &mut self.ctx.queues[i].queue,
                    &self.ctx.mem,
                    r.as_ref(),
                )
            }
            Role::Stats => self.receive_stats(i),
        };
        match result {
            Ok(progress) => {
                if progress.used {
                    let index = self.ctx.queues[i].index;
                    self.ctx
                        .interrupt
                        .trigger(VirtioInterruptType::Queue(index));
                }
                if progress.more {
                    // Come back after the other events (stop included) had their turn.
                    let _ = self.ctx.queues[i].event.write(1);
                }
            }
            Err(e) => self.driver_bug(e),
        }
    }

    /// QEMU's `virtio_balloon_receive_stats`: hold the newest buffer (returning any older
    /// one at once), record its values, and restart the polling period.
    fn receive_stats(&mut self, i: usize) -> Result<Progress, DriverBug> {
        let mut progress = Progress::default();
        let q = &mut self.ctx.queues[i].queue;
        while let Some(buf) = queues::pop_stats(q, &self.ctx.mem)? {
            if let Some(old) = self.held_stats.replace(buf.head) {
                // A driver that follows the spec never has two out; give the old one back
                // (and publish it, unlike Firecracker before 326fc46d).
                queues::return_buffer(q, &self.ctx.mem, old)?;
                progress.used = true;
            }
            let mut state = lock(&self.ctx.shared.state);
            state.stats.values = buf.values;
            state.stats.last_update = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64);
        }
        if self.interval > 0 {
            self.arm(Duration::from_secs(u64::from(self.interval)));
        }
        Ok(progress)
    }

    fn driver_bug(&mut self, e: DriverBug) {
        log::warn!("virtio-balloon: driver error, device needs reset: {e}");
        self.broken = true;
        self.ctx.interrupt.set_needs_reset();
    }
}
