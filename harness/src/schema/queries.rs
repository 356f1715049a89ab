//! Which commands of a schema are side-effect-free queries: commands that only read state,
//! return promptly and touch no file, socket or device, whatever valid arguments they get, so
//! that the schema checks may run them with generated arguments and validate their returns.
//!
//! Introspection says nothing about side effects, but QEMU's naming does: a command named
//! `query-*` or `x-query-*` reads state (docs/devel/qapi-code-gen.rst asks for it). The few
//! such commands that do more are denied by name ([`NOT_SIDE_EFFECT_FREE`]), and the few
//! readers named otherwise are allowed by name ([`READERS`]). So the queries a new QEMU adds
//! are covered as soon as its schema lists them.

use super::Schema;

/// Commands named like queries that are not run with generated arguments, and why.
/// (Also never recognized, whatever their name: `qom-list-properties` and
/// `device-list-properties` instantiate the type they are given, which aborts QEMU for some
/// types.)
pub const NOT_SIDE_EFFECT_FREE: &[(&str, &str)] = &[(
    "query-sev-attestation-report",
    "has the SEV firmware measure the guest and sign a report over the given nonce: an \
     operation on the platform, not a read of QEMU's state",
)];

/// Read-only commands not named `query-*`: they read a QOM property, list an object's
/// properties, list the QOM types (strings are generated as short identifiers, so `qom-get`
/// reads some property of some object at worst).
pub const READERS: &[&str] = &["qom-get", "qom-list", "qom-list-types"];

/// Whether a command called `name` is a side-effect-free query, by the rules above.
pub fn is_side_effect_free_query(name: &str) -> bool {
    let query_named = name.starts_with("query-") || name.starts_with("x-query-");
    (query_named && !NOT_SIDE_EFFECT_FREE.iter().any(|(n, _)| *n == name))
        || READERS.contains(&name)
}

impl Schema {
    /// The side-effect-free queries of this schema ([`is_side_effect_free_query`]), in schema
    /// order.
    pub fn side_effect_free_queries(&self) -> Vec<&str> {
        self.commands()
            .map(|c| c.name.as_str())
            .filter(|n| is_side_effect_free_query(n))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn storage_daemon(version: &str) -> Schema {
        let text = match version {
            "7.2" => include_str!("../../../specs/qemu-7.2/storage-daemon.schema.json"),
            _ => include_str!("../../../specs/qemu-10.0/storage-daemon.schema.json"),
        };
        Schema::from_value(&serde_json::from_str::<Value>(text).unwrap()).unwrap()
    }

    /// How many queries each recorded QEMU has; every QEMU 10.0 query new since 7.2 is one.
    #[test]
    fn queries_of_both_qemu_versions() {
        let (old, new) = (Schema::qemu_7_2(), Schema::qemu_10_0());
        let (q7, q10) = (
            old.side_effect_free_queries(),
            new.side_effect_free_queries(),
        );
        assert_eq!((q7.len(), q10.len()), (81, 84));
        let qsd7 = storage_daemon("7.2").side_effect_free_queries().len();
        let qsd10 = storage_daemon("10.0").side_effect_free_queries().len();
        assert_eq!((qsd7, qsd10), (14, 14));
        let added: Vec<&str> = q10.iter().copied().filter(|q| !q7.contains(q)).collect();
        let mut added_sorted = added.clone();
        added_sorted.sort_unstable();
        assert_eq!(
            added_sorted,
            [
                "query-audiodevs",
                "query-cryptodev",
                "query-hv-balloon-status-report",
                "query-migrationthreads",
                "x-query-interrupt-controllers",
            ]
        );
        let gone: Vec<&str> = q7.iter().copied().filter(|q| !q10.contains(q)).collect();
        assert_eq!(gone, ["x-query-profile", "x-query-rdma"]);
    }

    #[test]
    fn the_rules() {
        assert!(is_side_effect_free_query("query-status"));
        assert!(is_side_effect_free_query("x-query-roms"));
        assert!(is_side_effect_free_query("qom-get"));
        assert!(!is_side_effect_free_query("query-sev-attestation-report"));
        assert!(!is_side_effect_free_query("qom-list-properties"));
        assert!(!is_side_effect_free_query("device-list-properties"));
        assert!(!is_side_effect_free_query("stop"));
        assert!(!is_side_effect_free_query("x-exit-preconfig"));
        assert!(!is_side_effect_free_query("queryx"));
        // Every name the lists hold is a command of QEMU 7.2 (the lists are not stale).
        for n in NOT_SIDE_EFFECT_FREE
            .iter()
            .map(|(n, _)| *n)
            .chain(READERS.iter().copied())
        {
            assert!(Schema::qemu_7_2().command(n).is_some(), "{n}");
        }
    }
}
