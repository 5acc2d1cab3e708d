//! Tests of the QMP protocol core. `harness` runs sessions in memory against a fake
//! machine; `live` runs the same bytes against a real QEMU when one is installed.

mod bench;
mod events;
mod flow;
mod fuzz;
mod harness;
mod live;
mod negotiation;
mod pretty;
mod qmp_test;
mod section15;
