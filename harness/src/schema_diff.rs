//! `qmpspec schema-diff OLD NEW`: where the two schemas come from (a file, or a live endpoint
//! asked for `query-qmp-schema`) and how their diff ([`crate::schema::diff`]) is shown.
//!
//! Exit codes, as diff(1) has them: 0 the schemas describe the same interface, 1 they differ,
//! 2 the diff could not be made (unreadable file, not a schema, unreachable endpoint).

use crate::cli::fatal;
use crate::endpoint::{Client, ConnectError, Stalled, Target, TargetError};
use crate::message::{Command, QmpError};
use crate::monitor::{emulated_target_as, QemuRelease, UnknownRelease};
use crate::schema::diff::SchemaDiff;
use crate::schema::{Schema, SchemaError};
use clap::{Args, ValueEnum};
use serde_json::Value;
use std::path::PathBuf;
use std::time::Duration;

/// `qmpspec schema-diff` arguments.
#[derive(Debug, Clone, Args)]
pub struct SchemaDiffArgs {
    /// The old schema: a FILE (a query-qmp-schema return, or the reply holding it) or a live
    /// endpoint: unix:PATH, tcp:HOST:PORT, spawn:'PROGRAM ARGS...', qemu[:BINARY],
    /// emulated[:VERSION]
    #[arg(value_name = "OLD")]
    pub old: String,
    /// The new schema, named like OLD
    #[arg(value_name = "NEW")]
    pub new: String,
    /// Output format
    #[arg(long, value_enum, default_value_t = DiffFormat::Text)]
    pub format: DiffFormat,
    /// Budget of every wait on a live endpoint, in milliseconds
    #[arg(long, value_name = "MS", default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DiffFormat {
    Text,
    Json,
}

/// A side named neither as a file nor as an endpoint.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SourceError {
    #[error(transparent)]
    Target(#[from] TargetError),
    #[error("qemu: needs a binary (or say just qemu)")]
    NoBinary,
    #[error(transparent)]
    Release(#[from] UnknownRelease),
    #[error("an empty name is neither a file nor an endpoint")]
    Empty,
}

/// A schema that could not be had.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    File(Box<SchemaError>),
    #[error("cannot reach the target: {0}")]
    Unreachable(#[from] ConnectError),
    #[error("{target}: {step}: {stalled}")]
    Stalled {
        target: String,
        step: &'static str,
        stalled: Stalled,
    },
    #[error("{target}: {command} failed: {error}")]
    Refused {
        target: String,
        command: &'static str,
        error: QmpError,
    },
    #[error("{target}: its query-qmp-schema return: {source}")]
    NotASchema {
        target: String,
        source: Box<SchemaError>,
    },
}

/// Where a schema comes from.
#[derive(Debug)]
pub enum SchemaSource {
    File(PathBuf),
    Live(Target),
}

impl SchemaSource {
    /// `unix:PATH`, `tcp:HOST:PORT`, `spawn:'PROGRAM ARGS...'`, `qemu[:BINARY]`,
    /// `emulated[:VERSION]` name live endpoints (as `--connect`, `--spawn`, `--qemu` and
    /// `--emulated` do); anything else is a file (`./unix:x` for a file named so).
    pub fn parse(s: &str) -> Result<SchemaSource, SourceError> {
        if s.starts_with("unix:") || s.starts_with("tcp:") {
            return Ok(SchemaSource::Live(Target::parse_connect(s)?));
        }
        if let Some(cmd) = s.strip_prefix("spawn:") {
            return Ok(SchemaSource::Live(Target::parse_spawn(cmd)?));
        }
        if s == "qemu" {
            return Ok(SchemaSource::Live(Target::qemu(None)));
        }
        if let Some(bin) = s.strip_prefix("qemu:") {
            if bin.is_empty() {
                return Err(SourceError::NoBinary);
            }
            return Ok(SchemaSource::Live(Target::qemu(Some(bin))));
        }
        if s == "emulated" || s.starts_with("emulated:") {
            let release = match s.strip_prefix("emulated:") {
                Some(v) => v.parse::<QemuRelease>()?,
                None => QemuRelease::default(),
            };
            return Ok(SchemaSource::Live(emulated_target_as(release, &[], None)));
        }
        if s.is_empty() {
            return Err(SourceError::Empty);
        }
        Ok(SchemaSource::File(PathBuf::from(s)))
    }

    /// The schema: read from the file, or asked of the endpoint.
    pub fn load(&self, timeout: Duration) -> Result<Schema, LoadError> {
        match self {
            SchemaSource::File(p) => Schema::from_file(p).map_err(|e| LoadError::File(Box::new(e))),
            SchemaSource::Live(t) => fetch(t, timeout),
        }
    }
}

/// Negotiate with a live endpoint and ask for its schema.
fn fetch(target: &Target, timeout: Duration) -> Result<Schema, LoadError> {
    let what = target.description();
    let mut c = Client::connect(target)?;
    let stalled = |c: &Client, step, stall| LoadError::Stalled {
        target: what.clone(),
        step,
        stalled: c.stalled(stall),
    };
    let refused = |command, e: &QmpError| LoadError::Refused {
        target: what.clone(),
        command,
        error: e.clone(),
    };
    let r = c
        .handshake(&[], timeout)
        .map_err(|e| stalled(&c, "no negotiation", e))?;
    if let Some(e) = r.error() {
        return Err(refused("qmp_capabilities", e));
    }
    let r = c
        .execute(Command::new("query-qmp-schema").id("schema-diff"), timeout)
        .map_err(|e| stalled(&c, "no answer to query-qmp-schema", e))?;
    if let Some(e) = r.error() {
        return Err(refused("query-qmp-schema", e));
    }
    let v = r.return_value().unwrap_or(Value::Null);
    Schema::from_value(&v).map_err(|e| LoadError::NotASchema {
        target: what.clone(),
        source: Box::new(e),
    })
}

/// A schema source's name for the output.
fn label(s: &SchemaSource, given: &str) -> String {
    match s {
        SchemaSource::File(_) => given.to_string(),
        SchemaSource::Live(t) => t.description(),
    }
}

/// Run `qmpspec schema-diff`; returns the exit code.
pub fn run(a: &SchemaDiffArgs) -> i32 {
    let timeout = Duration::from_millis(a.timeout);
    let mut schemas = Vec::new();
    for (side, given) in [("OLD", &a.old), ("NEW", &a.new)] {
        let source = match SchemaSource::parse(given) {
            Ok(s) => s,
            Err(e) => return fatal(format!("{side}: {e}")),
        };
        match source.load(timeout) {
            Ok(s) => schemas.push((label(&source, given), s)),
            Err(e) => return fatal(format!("{side}: {e}")),
        }
    }
    let [(old_name, old), (new_name, new)] = <[_; 2]>::try_from(schemas).expect("two sides");
    let diff = SchemaDiff::between(&old, &new);
    match a.format {
        DiffFormat::Text => print!("{}", diff.to_text(&old_name, &new_name)),
        DiffFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&diff.to_json(&old_name, &new_name))
                .expect("a diff serializes")
        ),
    }
    i32::from(!diff.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources() {
        let live = |s: &str| match SchemaSource::parse(s) {
            Ok(SchemaSource::Live(t)) => t.description(),
            other => panic!("{s}: {other:?}"),
        };
        assert_eq!(live("unix:/tmp/q.sock"), "unix:/tmp/q.sock");
        assert_eq!(live("tcp:localhost:4444"), "tcp:localhost:4444");
        assert_eq!(live("spawn:prog 'a b'"), "spawn:prog a b");
        assert!(live("qemu").starts_with("spawn:qemu-system-x86_64 -machine none"));
        assert!(live("qemu:/opt/q/bin/qemu-system-x86_64").starts_with("spawn:/opt/q/bin/"));
        assert_eq!(live("emulated:10.0"), "emulated QEMU 10.0");
        assert_eq!(live("emulated"), "emulated");
        assert!(matches!(
            SchemaSource::parse("specs/qemu-7.2/system-x86_64.schema.json"),
            Ok(SchemaSource::File(_))
        ));
        assert!(matches!(
            SchemaSource::parse("./unix:x"),
            Ok(SchemaSource::File(_))
        ));
        for bad in ["", "qemu:", "tcp:nohost", "unix:", "spawn:", "emulated:9.9"] {
            assert!(SchemaSource::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_emulated_versions_differ_as_qemu_does() {
        let t = Duration::from_secs(10);
        let old = SchemaSource::parse("emulated:7.2")
            .unwrap()
            .load(t)
            .unwrap();
        let new = SchemaSource::parse("emulated").unwrap().load(t).unwrap();
        assert!(SchemaDiff::between(&old, &new).is_empty());
        let new = SchemaSource::parse("emulated:10.0")
            .unwrap()
            .load(t)
            .unwrap();
        let d = SchemaDiff::between(&old, &new);
        assert_eq!((d.old.commands, d.new.commands), (216, 233));
    }
}
