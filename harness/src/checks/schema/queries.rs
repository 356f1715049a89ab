//! Which commands the query checks run with generated valid arguments: the endpoint's own
//! side-effect-free queries, recognized from its schema
//! ([`Schema::side_effect_free_queries`]), and the `--query-command`s the user vouches for.

use super::SchemaOptions;
use crate::schema::Schema;
use std::collections::HashSet;

/// The side-effect-free queries (and `--query-command`s) this schema has, each once.
pub(super) fn queries_of<'s>(schema: &'s Schema, opts: &SchemaOptions) -> Vec<&'s str> {
    let mut names: Vec<&str> = schema.side_effect_free_queries();
    names.extend(opts.extra_queries.iter().map(String::as_str));
    let mut seen = HashSet::new();
    names
        .into_iter()
        .filter(|n| seen.insert(*n))
        .filter_map(|n| schema.command(n).map(|c| c.name.as_str()))
        .collect()
}
