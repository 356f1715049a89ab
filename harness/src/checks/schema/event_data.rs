//! `schema.event-data`: the data of every event seen validates against its `arg-type`.

use super::schema_check;
use super::session::{CallError, SchemaSession};
use crate::checks::probe::Step;
use crate::checks::{Ctx, Outcome};
use crate::message::Event;
use crate::schema::{Schema, Severity};
use crate::spec::Clause;
use serde_json::{json, Map, Value};

/// What is wrong with the events seen, one line each.
pub(super) fn event_problems(schema: &Schema, events: &[Event]) -> Vec<String> {
    let mut out = Vec::new();
    for e in events {
        let Some(info) = schema.event(&e.name) else {
            out.push(format!("event {} is not in the schema", e.name));
            continue;
        };
        let data = e.data_value().unwrap_or_else(|| json!({}));
        let issues = schema.validate(&info.arg_type, &data, "data");
        if let Some(i) = issues.iter().find(|i| i.severity == Severity::Error) {
            out.push(format!("event {}: {i}", e.name));
        }
    }
    out
}

/// The node and job the event check creates (a `null-co` node: no file is touched).
const EVENT_NODE: &str = "qmpspec-events-null";
const EVENT_JOB: &str = "qmpspec-events-job";

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => unreachable!("object literals"),
    }
}

/// Provoke events the harmless ways the endpoint allows: `stop` then `cont` (STOP, RESUME),
/// and a `block-stream` job on a `null-co` node (JOB_STATUS_CHANGE, BLOCK_JOB_COMPLETED),
/// which is waited for and removed again. Returns what was tried.
fn provoke_events(live: &mut SchemaSession, schema: &Schema) -> Step<Vec<&'static str>> {
    let has = |c: &str| schema.command(c).is_some();
    let stall = |c: &str, e: CallError| e.outcome(c);
    let mut tried = Vec::new();
    if has("stop") && has("cont") {
        tried.push("stop/cont");
        for c in ["stop", "cont"] {
            live.call(c, None).map_err(|e| stall(c, e))?;
        }
    }
    if ["blockdev-add", "block-stream", "blockdev-del", "query-jobs"]
        .iter()
        .all(|c| has(c))
    {
        let node = obj(json!({"driver": "null-co", "node-name": EVENT_NODE}));
        let added = live
            .call("blockdev-add", Some(&node))
            .map_err(|e| stall("blockdev-add", e))?;
        if added.error().is_none() {
            tried.push("a block-stream job on a null-co node");
            let job = obj(json!({"job-id": EVENT_JOB, "device": EVENT_NODE}));
            let started = live
                .call("block-stream", Some(&job))
                .map_err(|e| stall("block-stream", e))?;
            if started.error().is_none() {
                // The job ends at once and dismisses itself: wait until it is gone.
                let deadline = std::time::Instant::now() + live.p.budget().reply();
                while std::time::Instant::now() < deadline {
                    let r = live
                        .call("query-jobs", None)
                        .map_err(|e| stall("query-jobs", e))?;
                    let running = r.return_value().is_some_and(|v| {
                        v.as_array().is_some_and(|jobs| {
                            jobs.iter().any(|j| j.get("id") == Some(&json!(EVENT_JOB)))
                        })
                    });
                    if !running {
                        break;
                    }
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
            }
            let del = obj(json!({"node-name": EVENT_NODE}));
            live.call("blockdev-del", Some(&del))
                .map_err(|e| stall("blockdev-del", e))?;
        }
    }
    Ok(tried)
}

pub(in crate::checks) fn event_data(ctx: &Ctx) -> Outcome {
    schema_check(ctx, |live, schema| {
        let tried = provoke_events(live, schema)?;
        live.collect_events();
        if live.events.is_empty() {
            return Ok((
                Outcome::skip(if tried.is_empty() {
                    "the endpoint has none of the commands known to provoke events, and sent none"
                        .to_string()
                } else {
                    format!("{} provoked no event", tried.join(" and "))
                }),
                Vec::new(),
            ));
        }
        if let Some(p) = event_problems(schema, &live.events).into_iter().next() {
            return Ok((Outcome::broken(Clause::EventShape, p), Vec::new()));
        }
        let n = live.events.len();
        let mut names: Vec<&str> = Vec::new();
        for e in &live.events {
            if !names.contains(&e.name.as_str()) {
                names.push(&e.name);
            }
        }
        Ok((
            Outcome::pass(format!(
                "{n} event(s), provoked by {}, validate against their arg-type: {}",
                tried.join(" and "),
                names.join(", ")
            )),
            Vec::new(),
        ))
    })
}
