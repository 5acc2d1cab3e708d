//! QEMU's run states and shutdown causes, with the names QMP reports.

/// `RunState` as QMP's `query-status` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunState {
    /// Created but not started (`-S`).
    Prelaunch,
    Running,
    /// Stopped by the monitor (`stop`).
    Paused,
    /// The guest shut down and `-no-shutdown` kept the process.
    Shutdown,
    /// KVM could not continue running a vCPU.
    InternalError,
    GuestPanicked,
    /// Stopped by `dump-guest-memory` until the dump ends.
    SaveVm,
}

impl RunState {
    pub fn name(self) -> &'static str {
        match self {
            RunState::Prelaunch => "prelaunch",
            RunState::Running => "running",
            RunState::Paused => "paused",
            RunState::Shutdown => "shutdown",
            RunState::InternalError => "internal-error",
            RunState::GuestPanicked => "guest-panicked",
            RunState::SaveVm => "save-vm",
        }
    }

    pub fn is_running(self) -> bool {
        self == RunState::Running
    }
}

/// `ShutdownCause`: why a reset or shutdown was requested.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShutdownCause {
    HostError,
    HostQmpQuit,
    HostQmpSystemReset,
    HostSignal,
    HostUi,
    GuestShutdown,
    GuestReset,
    GuestPanic,
}

impl ShutdownCause {
    pub fn name(self) -> &'static str {
        match self {
            ShutdownCause::HostError => "host-error",
            ShutdownCause::HostQmpQuit => "host-qmp-quit",
            ShutdownCause::HostQmpSystemReset => "host-qmp-system-reset",
            ShutdownCause::HostSignal => "host-signal",
            ShutdownCause::HostUi => "host-ui",
            ShutdownCause::GuestShutdown => "guest-shutdown",
            ShutdownCause::GuestReset => "guest-reset",
            ShutdownCause::GuestPanic => "guest-panic",
        }
    }

    /// Whether the guest, not the host, asked (the `guest` member of SHUTDOWN/RESET).
    pub fn is_guest(self) -> bool {
        matches!(
            self,
            ShutdownCause::GuestShutdown | ShutdownCause::GuestReset | ShutdownCause::GuestPanic
        )
    }
}
