//! The QEMU releases the emulated monitor can answer as: each brings its recorded
//! `query-qmp-schema` (specs/qemu-<version>/system-x86_64.schema.json), the version its
//! greeting and `query-version` report, and its recorded answers to argument-less queries
//! (specs/qemu-<version>/system-x86_64.returns.json, from ci/record-qemu-returns.py).

use super::Schema;
use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, OnceLock};

/// A QEMU release to answer as (`qmpspec serve --qemu-version`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum QemuRelease {
    /// QEMU 7.2.22, Debian bookworm's (the default).
    #[default]
    V7_2,
    /// QEMU 10.0.2, Debian bookworm-backports'.
    V10_0,
}

impl QemuRelease {
    pub const ALL: [QemuRelease; 2] = [QemuRelease::V7_2, QemuRelease::V10_0];

    /// `7.2`, `10.0`: how users and specs/ name it.
    pub fn as_str(self) -> &'static str {
        match self {
            QemuRelease::V7_2 => "7.2",
            QemuRelease::V10_0 => "10.0",
        }
    }

    /// `(major, minor, micro)` as the greeting and `query-version` report it.
    pub fn version(self) -> (i64, i64, i64) {
        match self {
            QemuRelease::V7_2 => (7, 2, 22),
            QemuRelease::V10_0 => (10, 0, 2),
        }
    }

    /// The release's `qemu-system-x86_64 -machine none` schema, shared.
    pub fn schema(self) -> Arc<Schema> {
        static SCHEMAS: [OnceLock<Arc<Schema>>; 2] = [OnceLock::new(), OnceLock::new()];
        let (slot, schema): (_, fn() -> &'static Schema) = match self {
            QemuRelease::V7_2 => (&SCHEMAS[0], Schema::qemu_7_2),
            QemuRelease::V10_0 => (&SCHEMAS[1], Schema::qemu_10_0),
        };
        Arc::clone(slot.get_or_init(|| Arc::new(schema().clone())))
    }

    /// The recorded replies to argument-less queries (JSON).
    pub(crate) fn returns_json(self) -> &'static str {
        match self {
            QemuRelease::V7_2 => {
                include_str!("../../../specs/qemu-7.2/system-x86_64.returns.json")
            }
            QemuRelease::V10_0 => {
                include_str!("../../../specs/qemu-10.0/system-x86_64.returns.json")
            }
        }
    }
}

impl fmt::Display for QemuRelease {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A QEMU version the emulated monitor cannot answer as.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown QEMU version '{given}' (known: 7.2, 10.0)")]
pub struct UnknownRelease {
    /// The version as it was given.
    pub given: String,
}

impl FromStr for QemuRelease {
    type Err = UnknownRelease;

    /// `7.2` or `10.0` (a micro version, `7.2.22`, `10.0.2`, is accepted too).
    fn from_str(s: &str) -> Result<Self, UnknownRelease> {
        QemuRelease::ALL
            .into_iter()
            .find(|r| {
                let (ma, mi, mc) = r.version();
                s == r.as_str() || s == format!("{ma}.{mi}.{mc}")
            })
            .ok_or_else(|| UnknownRelease {
                given: s.to_string(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_versions() {
        assert_eq!("7.2".parse(), Ok(QemuRelease::V7_2));
        assert_eq!("10.0.2".parse(), Ok(QemuRelease::V10_0));
        assert!("10.1".parse::<QemuRelease>().is_err());
        assert_eq!(QemuRelease::default(), QemuRelease::V7_2);
        assert_eq!(QemuRelease::V10_0.schema().commands().count(), 233);
        assert!(Arc::ptr_eq(
            &QemuRelease::V10_0.schema(),
            &QemuRelease::V10_0.schema()
        ));
    }
}
