//! The emulated monitor: a schema-driven reference QMP server that answers like QEMU 7.2,
//! byte for byte, or with QEMU 10.0.2's schema, version and recorded answers
//! ([`QemuRelease`]), and an adversarial server for testing QMP clients ([`Fault`]s).
//!
//! - [`server`]: the sans-IO session ([`Monitor`]): bytes in, bytes out. Commands come from
//!   a QAPI schema: a few have real behaviour (negotiation, `stop`/`cont` with events,
//!   `quit`, `query-status`, `query-version`, `qom-list`...), argument-less queries replay
//!   what QEMU answered (`specs/qemu-<version>/system-x86_64.returns.json`), every other
//!   command gets its arguments checked and a schema-valid answer.
//! - [`json`] and [`qobject`]: QEMU's JSON input pipeline and output writer.
//! - [`fault`]: deliberate deviations, each tied to the clause it breaks.
//! - [`serve`]: I/O adapters (`qmpspec serve`) and [`emulated_target`] (an in-process
//!   [`Target`] for checks and tests).

mod commands;
pub mod fault;
pub mod json;
pub mod qobject;
mod release;
pub mod serve;
pub mod server;

pub use crate::schema::Schema;
pub use fault::{list_faults, Fault, FaultSet, UnknownFault};
pub use release::{QemuRelease, UnknownRelease};
pub use server::{Chardev, Closed, Monitor, MonitorConfig};

use crate::endpoint::{Connector, Target, Transport};
use std::os::unix::net::UnixStream;
use std::sync::Arc;

/// A target whose every connection is a fresh emulated monitor session, served by a thread
/// over a `UnixStream::pair()`.
pub fn emulated_target(faults: &[Fault], schema: Option<Arc<Schema>>) -> Target {
    emulated_target_as(QemuRelease::default(), faults, schema)
}

/// [`emulated_target`], answering as QEMU `release`.
pub fn emulated_target_as(
    release: QemuRelease,
    faults: &[Fault],
    schema: Option<Arc<Schema>>,
) -> Target {
    let mut cfg = MonitorConfig::for_release(release, faults, schema);
    cfg.chardev = Chardev::Socket {
        filename: "unix:socketpair,server=on".into(),
    };
    let cfg = Arc::new(cfg);
    target_for(cfg)
}

/// A target serving sessions with an explicit configuration.
pub fn target_for(cfg: Arc<MonitorConfig>) -> Target {
    let mut description = String::from("emulated");
    if cfg.release != QemuRelease::default() {
        description.push_str(&format!(" QEMU {}", cfg.release));
    }
    let names: Vec<&str> = cfg.faults.iter().map(Fault::name).collect();
    if !names.is_empty() {
        description.push_str(&format!(" (faults: {})", names.join(", ")));
    }
    let connect: Connector = Arc::new(move || {
        let (client, server) = UnixStream::pair()?;
        serve::spawn_session(server, Arc::clone(&cfg))?;
        Ok(Box::new(client) as Box<dyn Transport>)
    });
    Target::InProcess {
        description,
        connect,
    }
}
