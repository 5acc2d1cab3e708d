//! QMP and HMP monitors: the event loop, chardevs, the QMP protocol, HMP readline and the mux.
pub mod chardev;
pub mod config;
pub mod event_loop;
pub mod fdsets;
pub mod jobs;
pub mod json;
pub mod qmp;
pub mod readline;
pub mod serial_feed;
pub mod signals;
pub mod socket_sink;
pub mod terminal;
pub mod vm;
