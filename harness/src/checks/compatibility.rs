//! Compatibility: introspection agrees with itself, and reserved names are used as reserved.

use super::commands::command_names;
use super::probe::{short, with_probe};
use super::{Ctx, Outcome, Reason};
use crate::message::Command;
use crate::spec::Clause;
use serde_json::Value;

pub(super) fn schema(ctx: &Ctx) -> Outcome {
    with_probe(ctx, |p| {
        p.negotiate()?;
        let names = command_names(p)?;
        let r = p.exec(Command::new("query-qmp-schema").id("schema"))?;
        if let Some(e) = r.error() {
            return Ok(Outcome::skip(format!("no query-qmp-schema: {e}")));
        }
        let v = r.return_value().unwrap_or(Value::Null);
        let Some(entries) = v.as_array() else {
            return Ok(Outcome::broken(
                Clause::ReplyReturn,
                format!(
                    "query-qmp-schema returned {}, not an array",
                    short(&v.to_string())
                ),
            ));
        };
        let mut commands = Vec::new();
        for (i, e) in entries.iter().enumerate() {
            let name = e.get("name").and_then(Value::as_str);
            let meta = e.get("meta-type").and_then(Value::as_str);
            match (name, meta) {
                (Some(n), Some("command")) => commands.push(n),
                (Some(_), Some(_)) => {}
                _ => {
                    return Ok(Outcome::broken(
                        Clause::ReplyReturn,
                        format!(
                            "schema entry {i} lacks a string name or meta-type: {}",
                            short(&e.to_string())
                        ),
                    ))
                }
            }
        }
        let missing: Vec<&String> = names
            .iter()
            .filter(|n| !commands.contains(&n.as_str()))
            .collect();
        if !missing.is_empty() {
            return Ok(Outcome::warn_because(
                Clause::ReplyReturn,
                Reason::QemuConvention,
                format!(
                    "{} commands listed by query-commands are not in the schema: {}",
                    missing.len(),
                    short(&format!("{missing:?}"))
                ),
            ));
        }
        Ok(Outcome::pass(format!(
            "{} schema entries; all {} commands of query-commands described",
            entries.len(),
            names.len()
        )))
    })
}

/// `__RFQDN_name`: a reverse domain name with at least one dot, then `_`, then the name.
fn downstream_ok(name: &str) -> bool {
    let Some(rest) = name.strip_prefix("__") else {
        return true;
    };
    match rest.split_once('_') {
        Some((rfqdn, n)) => {
            rfqdn.contains('.')
                && rfqdn.split('.').all(|l| {
                    !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                })
                && !n.is_empty()
        }
        None => false,
    }
}

pub(super) fn downstream_names(ctx: &Ctx) -> Outcome {
    with_probe(ctx, |p| {
        p.negotiate()?;
        let names = command_names(p)?;
        let bad: Vec<&String> = names.iter().filter(|n| !downstream_ok(n)).collect();
        if !bad.is_empty() {
            return Ok(Outcome::warn_because(
                Clause::DownstreamNames,
                Reason::Recommended,
                format!(
                    "commands in the reserved __ namespace without an RFQDN: {}",
                    short(&format!("{bad:?}"))
                ),
            ));
        }
        let downstream = names.iter().filter(|n| n.starts_with("__")).count();
        let experimental = names.iter().filter(|n| n.starts_with("x-")).count();
        Ok(Outcome::pass(format!(
            "{} commands: {downstream} downstream (__RFQDN_), {experimental} experimental (x-)",
            names.len()
        )))
    })
}

#[cfg(test)]
mod tests {
    use super::downstream_ok;

    #[test]
    fn downstream_name_form() {
        assert!(downstream_ok("query-version"));
        assert!(downstream_ok("__com.redhat_drive-mirror"));
        assert!(!downstream_ok("__drive-mirror"));
        assert!(!downstream_ok("__com_x"));
        assert!(!downstream_ok("__com.redhat_"));
    }
}
