//! qmpspec: a conformance test harness and fuzzer for the QEMU Monitor Protocol (QMP).
//!
//! The core is sans-IO and flows one way: bytes go through the [`wire`] framer into complete
//! JSON texts, [`message`] classifies them into typed QMP messages, and [`session`] tracks the
//! protocol state and reports every rule it sees broken as a [`session::Violation`] tied to a
//! clause of the specification ([`spec`]).
//!
//! To hold a QMP server to the specification from another project's `cargo test`, see
//! [`conformance()`] and [`assert_conforms!`].

pub mod budget;
pub mod checks;
pub mod cli;
pub mod client_check;
pub mod conformance;
pub mod endpoint;
pub mod live_fuzz;
pub mod message;
pub mod monitor;
pub mod report;
pub mod rng;
pub mod schema;
pub mod schema_diff;
pub mod session;
pub mod spec;
pub mod text;
pub mod wire;

pub use conformance::{conformance, CheckRun, RunError, Summary};
