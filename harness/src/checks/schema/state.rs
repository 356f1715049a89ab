//! What a rejected command must leave alone: the observable state (the answers of
//! [`STATE_QUERIES`]), and the commands never sent at all ([`NEVER_SEND`]).

use crate::checks::probe::short;
use crate::schema::Schema;
use serde_json::{Map, Value};

/// Commands never sent, not even with invalid arguments: were a defect to slip through the
/// argument check, they would end or abort the endpoint, run an arbitrary HMP line, or
/// create files, sockets, descriptors or memory backends. (`blockdev-reopen` aborts QEMU 7.2
/// outright on some arguments.)
pub const NEVER_SEND: &[&str] = &[
    "add-fd",
    "block-export-add",
    "blockdev-create",
    "blockdev-reopen",
    "chardev-add",
    "chardev-change",
    "drive-backup",
    "drive-mirror",
    "dump-guest-memory",
    "dump-skeys",
    "getfd",
    "human-monitor-command",
    "memsave",
    "migrate",
    "migrate-incoming",
    "nbd-server-start",
    "netdev_add",
    "object-add",
    "pmemsave",
    "quit",
    "screendump",
    "snapshot-load",
    "snapshot-save",
    "blockdev-snapshot-sync",
    "xen-load-devices-state",
    "xen-save-devices-state",
];

/// The queries whose answers make up the observable state (those the endpoint has): a
/// rejected command must leave every one of them unchanged.
pub const STATE_QUERIES: &[(&str, Option<&str>)] = &[
    ("query-status", None),
    ("query-block", None),
    ("query-named-block-nodes", None),
    ("query-block-jobs", None),
    ("query-jobs", None),
    ("query-block-exports", None),
    ("query-chardev", None),
    ("query-iothreads", None),
    ("query-fdsets", None),
    ("query-memdev", None),
    ("query-migrate-capabilities", None),
    ("query-migrate-parameters", None),
    ("qom-list", Some("/objects")),
];

/// The observable state: each state query and its answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct State(pub(super) Vec<(String, String)>);

impl State {
    /// The first difference, described.
    pub(super) fn diff(&self, after: &State) -> Option<String> {
        for ((q, a), (_, b)) in self.0.iter().zip(&after.0) {
            if a != b {
                return Some(format!("{q} changed from {} to {}", short(a), short(b)));
            }
        }
        None
    }
}

/// State queries with their arguments.
pub(super) type StateQueries = Vec<(String, Option<Map<String, Value>>)>;

/// The state queries this schema has.
pub(super) fn state_queries(schema: &Schema) -> StateQueries {
    STATE_QUERIES
        .iter()
        .filter(|(n, _)| schema.command(n).is_some())
        .map(|(n, path)| {
            let args = path.map(|p| {
                let mut m = Map::new();
                m.insert("path".into(), Value::from(p));
                m
            });
            (n.to_string(), args)
        })
        .collect()
}
