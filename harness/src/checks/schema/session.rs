//! [`SchemaSession`]: one negotiated connection for a schema check's many cases, replaced
//! when it breaks, with every event seen on any of them.

use super::state::{State, StateQueries};
use crate::checks::probe::{Probe, Step};
use crate::checks::Outcome;
use crate::message::{Command, Event, Reply};
use crate::schema::Schema;
use crate::spec::Clause;
use serde_json::{Map, Value};

/// Why a command got no judgeable reply.
#[derive(Debug, Clone)]
pub(super) enum CallError {
    /// The endpoint stalled or closed: a finding.
    Stall(String),
    /// No connection could be (re)made: the case cannot be judged.
    NoConnection(String),
}

impl CallError {
    /// The outcome when `what` could not be had: the endpoint broke `reply.one-per-command`
    /// (or an earlier violation explains it).
    pub(super) fn outcome(self, what: &str) -> Outcome {
        let (CallError::Stall(s) | CallError::NoConnection(s)) = self;
        Outcome::broken_after(Clause::ReplyOnePerCommand, format!("{what}: {s}"))
    }
}

/// One connection (replaced when it breaks), the events seen on all of them.
pub(super) struct SchemaSession<'p, 'a> {
    pub(super) p: &'p mut Probe<'a>,
    pub(super) broken: bool,
    pub(super) events: Vec<Event>,
    taken_on_conn: usize,
}

impl<'p, 'a> SchemaSession<'p, 'a> {
    /// Negotiate on the probe's open connection.
    pub(super) fn start(p: &'p mut Probe<'a>) -> Step<SchemaSession<'p, 'a>> {
        p.negotiate()?;
        Ok(SchemaSession {
            p,
            broken: false,
            events: Vec::new(),
            taken_on_conn: 0,
        })
    }

    pub(super) fn collect_events(&mut self) {
        let new: Vec<Event> = self.p.events()[self.taken_on_conn..].to_vec();
        self.taken_on_conn += new.len();
        self.events.extend(new);
    }

    /// A fresh, negotiated connection (a fresh process for `--spawn`).
    pub(super) fn reconnect(&mut self) -> Result<(), CallError> {
        self.collect_events();
        self.taken_on_conn = 0;
        self.broken = true;
        let r = self
            .p
            .connect()
            .and_then(|()| self.p.negotiate().map(|_| ()));
        match r {
            Ok(()) => {
                self.broken = false;
                Ok(())
            }
            Err(o) => Err(CallError::NoConnection(o.headline())),
        }
    }

    pub(super) fn call(
        &mut self,
        name: &str,
        args: Option<&Map<String, Value>>,
    ) -> Result<Reply, CallError> {
        if self.broken {
            self.reconnect()?;
        }
        let mut cmd = Command::new(name).id(self.p.fresh_id());
        cmd.arguments = args.cloned();
        let r = self.p.request(cmd).map_err(|why| {
            self.broken = true;
            CallError::Stall(why.to_string())
        });
        self.collect_events();
        r
    }

    /// The answers of the state queries, as text.
    pub(super) fn state(&mut self, queries: &StateQueries) -> Result<State, CallError> {
        let mut out = Vec::with_capacity(queries.len());
        for (name, args) in queries {
            let r = self.call(name, args.as_ref())?;
            let text = match r.error() {
                Some(e) => format!("error {}: {}", e.class, e.desc),
                None => r.return_value().unwrap_or(Value::Null).to_string(),
            };
            out.push((name.clone(), text));
        }
        Ok(State(out))
    }
}

/// Load the endpoint's own schema; `Err` skips or fails the check.
pub(super) fn fetch_schema(live: &mut SchemaSession) -> Step<Schema> {
    let r = live
        .call("query-qmp-schema", None)
        .map_err(|e| e.outcome("query-qmp-schema"))?;
    if let Some(e) = r.error() {
        return Err(Outcome::skip(format!(
            "the endpoint publishes no schema (query-qmp-schema: {e})"
        )));
    }
    let v = r.return_value().unwrap_or(Value::Null);
    Schema::from_value(&v).map_err(|e| {
        Outcome::broken(
            Clause::ReplyReturn,
            format!("query-qmp-schema's return is not a usable schema: {e}"),
        )
    })
}
