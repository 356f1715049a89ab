//! Schema drift: what changed between two `query-qmp-schema` answers — commands, events and
//! types added or removed, members added or removed, optional↔required, changed types, enum
//! values, union variants, alternate branches, features (`deprecated`, `unstable`, ...),
//! `allow-oob` and return types.
//!
//! Introspection names types by opaque ids ("1", "2", ...) that differ between builds, so types
//! are compared structurally: two types correspond when they sit at the same place (the same
//! member of the same command's arguments or return, or of an event's data). Each pair of
//! corresponding types is compared once, so a change to a type that many commands share is
//! reported at the first place it is reached (commands, then events, by name; shortest path
//! first). The walk is iterative: no schema, however deep, can overflow the stack.

use super::{JsonType, ObjectType, Schema, TypeDef};
use serde::Serialize;
use serde_json::Value;
use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt::Write as _;

/// Everything that changed from an old schema to a new one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SchemaDiff {
    pub old: Census,
    pub new: Census,
    pub commands: Drift,
    pub events: Drift,
    pub types: TypeDrift,
    /// Commands in both schemas whose arguments, return, features or `allow-oob` changed.
    pub changed_commands: Vec<EntityChanges>,
    /// Events in both schemas whose data or features changed.
    pub changed_events: Vec<EntityChanges>,
}

/// How big a schema is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Census {
    /// Introspection entries: commands, events and types.
    pub entries: usize,
    pub commands: usize,
    pub events: usize,
    pub types: usize,
}

/// Names only one side has.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Drift {
    pub added: Vec<Named>,
    pub removed: Vec<Named>,
}

/// A command or event, with its features (`deprecated`, `unstable`, ...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Named {
    pub name: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub features: Vec<String>,
}

/// Types without a counterpart on the other side, by where they are used. (Types that no
/// command or event uses, which introspection can list, are in neither list.)
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TypeDrift {
    /// Types of the new schema that correspond to one of the old.
    pub matched: usize,
    pub added: Vec<TypeNote>,
    pub removed: Vec<TypeNote>,
}

/// A type of one schema: its id there, its meta-type and the first place it is used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TypeNote {
    pub id: String,
    pub meta_type: &'static str,
    /// E.g. `command query-stats: return[].providers[]`.
    pub used_at: String,
}

/// The changes of one command or event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EntityChanges {
    pub name: String,
    pub changes: Vec<Change>,
}

/// One change, at a path inside the command or event: `arguments.file`, `return[].name`,
/// `data.reason`, `arguments{driver=qcow2}.backing` (a union variant), `arguments.x|object`
/// (an alternate branch), `arguments.format=raw` (an enum value); empty for the entity itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    pub path: String,
    #[serde(flatten)]
    pub kind: ChangeKind,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "change", rename_all = "kebab-case")]
pub enum ChangeKind {
    MemberAdded {
        optional: bool,
        #[serde(rename = "type")]
        ty: String,
    },
    MemberRemoved {
        optional: bool,
        #[serde(rename = "type")]
        ty: String,
    },
    OptionalToRequired,
    RequiredToOptional,
    TypeChanged {
        old: String,
        new: String,
    },
    EnumValuesAdded {
        values: Vec<String>,
    },
    EnumValuesRemoved {
        values: Vec<String>,
    },
    TagChanged {
        old: Option<String>,
        new: Option<String>,
    },
    VariantAdded {
        case: String,
    },
    VariantRemoved {
        case: String,
    },
    BranchAdded {
        #[serde(rename = "type")]
        ty: String,
    },
    BranchRemoved {
        #[serde(rename = "type")]
        ty: String,
    },
    FeaturesAdded {
        features: Vec<String>,
    },
    FeaturesRemoved {
        features: Vec<String>,
    },
    AllowOobChanged {
        old: bool,
        new: bool,
    },
}

impl std::fmt::Display for ChangeKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let optional = |o: &bool| if *o { "optional" } else { "required" };
        match self {
            ChangeKind::MemberAdded { optional: o, ty } => {
                write!(f, "member added ({}, {ty})", optional(o))
            }
            ChangeKind::MemberRemoved { optional: o, ty } => {
                write!(f, "member removed (was {}, {ty})", optional(o))
            }
            ChangeKind::OptionalToRequired => f.write_str("optional -> required"),
            ChangeKind::RequiredToOptional => f.write_str("required -> optional"),
            ChangeKind::TypeChanged { old, new } => write!(f, "type {old} -> {new}"),
            ChangeKind::EnumValuesAdded { values } => {
                write!(f, "enum values added: {}", values.join(", "))
            }
            ChangeKind::EnumValuesRemoved { values } => {
                write!(f, "enum values removed: {}", values.join(", "))
            }
            ChangeKind::TagChanged { old, new } => write!(
                f,
                "union tag {} -> {}",
                old.as_deref().unwrap_or("(none)"),
                new.as_deref().unwrap_or("(none)")
            ),
            ChangeKind::VariantAdded { case } => write!(f, "variant added: {case}"),
            ChangeKind::VariantRemoved { case } => write!(f, "variant removed: {case}"),
            ChangeKind::BranchAdded { ty } => write!(f, "alternate branch added: {ty}"),
            ChangeKind::BranchRemoved { ty } => write!(f, "alternate branch removed: {ty}"),
            ChangeKind::FeaturesAdded { features } => {
                write!(f, "features added: {}", features.join(", "))
            }
            ChangeKind::FeaturesRemoved { features } => {
                write!(f, "features removed: {}", features.join(", "))
            }
            ChangeKind::AllowOobChanged { old, new } => write!(f, "allow-oob {old} -> {new}"),
        }
    }
}

impl Census {
    pub fn of(s: &Schema) -> Census {
        Census {
            entries: s.to_value().as_array().map_or(0, Vec::len),
            commands: s.commands().count(),
            events: s.events().count(),
            types: s.types().count(),
        }
    }
}

/// Pairs of object types that correspond between `old` and `new` (the same place in the same
/// command or event): what `old` knows about a type that introspection does not say (e.g.
/// integer widths) carries over to its counterpart.
pub(crate) fn corresponding_objects(old: &Schema, new: &Schema) -> Vec<(String, String)> {
    let (walk, _, _) = walk_entities(old, new);
    let mut pairs: Vec<(String, String)> = walk
        .seen
        .into_iter()
        .filter(|(o, n)| {
            matches!(
                (old.ty(o), new.ty(n)),
                (Some(TypeDef::Object(_)), Some(TypeDef::Object(_)))
            )
        })
        .collect();
    pairs.sort_unstable();
    pairs
}

/// Compares every command and event both schemas have: the walk (what it matched) and the
/// changed commands and events.
fn walk_entities<'s>(
    old: &'s Schema,
    new: &'s Schema,
) -> (Walk<'s>, Vec<EntityChanges>, Vec<EntityChanges>) {
    let mut walk = Walk {
        old,
        new,
        seen: HashSet::new(),
        matched_old: HashSet::new(),
        matched_new: HashSet::new(),
    };
    for t in old.types() {
        if let (TypeDef::Builtin(_), Some(TypeDef::Builtin(_))) = (t, new.ty(t.name())) {
            walk.matched_old.insert(t.name().to_string());
            walk.matched_new.insert(t.name().to_string());
        }
    }

    let commands = old.commands().map(|c| c.name.as_str());
    let changed_commands = changed(
        commands,
        |x| old.command(x).zip(new.command(x)),
        |o, n, changes| {
            features(&o.features, &n.features, "", changes);
            if o.allow_oob != n.allow_oob {
                changes.push(Change {
                    path: String::new(),
                    kind: ChangeKind::AllowOobChanged {
                        old: o.allow_oob,
                        new: n.allow_oob,
                    },
                });
            }
            walk.compare(&o.arg_type, &n.arg_type, "arguments", changes);
            walk.compare(&o.ret_type, &n.ret_type, "return", changes);
        },
    );
    let events = old.events().map(|e| e.name.as_str());
    let changed_events = changed(
        events,
        |x| old.event(x).zip(new.event(x)),
        |o, n, changes| {
            features(&o.features, &n.features, "", changes);
            walk.compare(&o.arg_type, &n.arg_type, "data", changes);
        },
    );

    (walk, changed_commands, changed_events)
}

/// The entities named `names` that both schemas have (`both`), in name order, each with the
/// changes `compare` finds between its old and new self, by path; those without changes are
/// left out.
fn changed<'s, E: 's>(
    names: impl Iterator<Item = &'s str>,
    both: impl Fn(&str) -> Option<(&'s E, &'s E)>,
    mut compare: impl FnMut(&'s E, &'s E, &mut Vec<Change>),
) -> Vec<EntityChanges> {
    let mut list = Vec::new();
    for name in sorted(names) {
        let Some((o, n)) = both(name) else {
            continue;
        };
        let mut changes = Vec::new();
        compare(o, n, &mut changes);
        changes.sort_by(|a, b| a.path.cmp(&b.path));
        if !changes.is_empty() {
            list.push(EntityChanges {
                name: name.to_string(),
                changes,
            });
        }
    }
    list
}

impl SchemaDiff {
    /// Compares `old` with `new`.
    pub fn between(old: &Schema, new: &Schema) -> SchemaDiff {
        let (walk, changed_commands, changed_events) = walk_entities(old, new);
        // Types no command or event uses (introspection lists a few) are no part of the
        // interface, and have no place to be matched by: they are left out.
        let unmatched = |s: &Schema, matched: &HashSet<String>| {
            let used = first_uses(s);
            let mut notes: Vec<TypeNote> = s
                .types()
                .filter(|t| !matched.contains(t.name()))
                .filter_map(|t| {
                    Some(TypeNote {
                        id: t.name().to_string(),
                        meta_type: t.meta_type(),
                        used_at: used.get(t.name())?.clone(),
                    })
                })
                .collect();
            notes.sort_by(|a, b| a.used_at.cmp(&b.used_at).then(a.id.cmp(&b.id)));
            notes
        };
        SchemaDiff {
            old: Census::of(old),
            new: Census::of(new),
            commands: drift(
                old.commands().map(|c| (&c.name, &c.features)),
                new.commands().map(|c| (&c.name, &c.features)),
            ),
            events: drift(
                old.events().map(|e| (&e.name, &e.features)),
                new.events().map(|e| (&e.name, &e.features)),
            ),
            types: TypeDrift {
                matched: walk.matched_new.len(),
                added: unmatched(new, &walk.matched_new),
                removed: unmatched(old, &walk.matched_old),
            },
            changed_commands,
            changed_events,
        }
    }

    /// Whether the two schemas describe the same interface (type ids aside).
    pub fn is_empty(&self) -> bool {
        self.commands.added.is_empty()
            && self.commands.removed.is_empty()
            && self.events.added.is_empty()
            && self.events.removed.is_empty()
            && self.types.added.is_empty()
            && self.types.removed.is_empty()
            && self.changed_commands.is_empty()
            && self.changed_events.is_empty()
    }

    /// The diff as JSON, with what the two sides were (`old`, `new`: a file or a target).
    pub fn to_json(&self, old: &str, new: &str) -> Value {
        let mut v = serde_json::to_value(self).expect("a diff serializes");
        for (side, source) in [("old", old), ("new", new)] {
            let census = v[side].take();
            let mut with_source = serde_json::Map::new();
            with_source.insert("source".into(), Value::from(source));
            with_source.extend(census.as_object().cloned().unwrap_or_default());
            v[side] = Value::Object(with_source);
        }
        v
    }

    /// The diff as readable text, grouped: counts, then commands and events added and
    /// removed, then what changed in the ones both have, then types by where they are used.
    pub fn to_text(&self, old: &str, new: &str) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "schema drift: {old} -> {new}");
        let count = |what: &str, o: usize, n: usize, d: Option<&Drift>| {
            let mut line = format!("  {what:9} {o} -> {n}");
            if let Some(d) = d {
                let _ = write!(
                    line,
                    " ({} added, {} removed)",
                    d.added.len(),
                    d.removed.len()
                );
            }
            line
        };
        let (o, n) = (&self.old, &self.new);
        let _ = writeln!(s, "{}", count("entries", o.entries, n.entries, None));
        let _ = writeln!(
            s,
            "{}",
            count("commands", o.commands, n.commands, Some(&self.commands))
        );
        let _ = writeln!(
            s,
            "{}",
            count("events", o.events, n.events, Some(&self.events))
        );
        let _ = writeln!(
            s,
            "{} ({} matched, {} only in the new, {} only in the old)",
            count("types", o.types, n.types, None),
            self.types.matched,
            self.types.added.len(),
            self.types.removed.len()
        );
        let names = |s: &mut String, title: &str, list: &[Named]| {
            if list.is_empty() {
                return;
            }
            let _ = writeln!(s, "\n{title} ({}):", list.len());
            for x in list {
                let f = if x.features.is_empty() {
                    String::new()
                } else {
                    format!("  [{}]", x.features.join(", "))
                };
                let _ = writeln!(s, "  {}{f}", x.name);
            }
        };
        names(&mut s, "commands added", &self.commands.added);
        names(&mut s, "commands removed", &self.commands.removed);
        names(&mut s, "events added", &self.events.added);
        names(&mut s, "events removed", &self.events.removed);
        let changed = |s: &mut String, title: &str, list: &[EntityChanges]| {
            if list.is_empty() {
                return;
            }
            let _ = writeln!(s, "\n{title} ({}):", list.len());
            for e in list {
                let _ = writeln!(s, "  {}", e.name);
                for c in &e.changes {
                    match c.path.as_str() {
                        "" => {
                            let _ = writeln!(s, "    {}", c.kind);
                        }
                        p => {
                            let _ = writeln!(s, "    {p}: {}", c.kind);
                        }
                    }
                }
            }
        };
        changed(&mut s, "commands changed", &self.changed_commands);
        changed(&mut s, "events changed", &self.changed_events);
        let types = |s: &mut String, title: &str, list: &[TypeNote]| {
            if list.is_empty() {
                return;
            }
            let _ = writeln!(s, "\n{title} ({}):", list.len());
            for t in list {
                let _ = writeln!(s, "  {:9} {:>5}  {}", t.meta_type, t.id, t.used_at);
            }
        };
        types(&mut s, "types only in the new schema", &self.types.added);
        types(&mut s, "types only in the old schema", &self.types.removed);
        if self.is_empty() {
            s.push_str("\nno differences\n");
        }
        s
    }
}

fn sorted<'a>(names: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut v: Vec<&str> = names.collect();
    v.sort_unstable();
    v
}

fn drift<'a>(
    old: impl Iterator<Item = (&'a String, &'a Vec<String>)>,
    new: impl Iterator<Item = (&'a String, &'a Vec<String>)>,
) -> Drift {
    let old: HashMap<&String, &Vec<String>> = old.collect();
    let new: HashMap<&String, &Vec<String>> = new.collect();
    let only = |a: &HashMap<&String, &Vec<String>>, b: &HashMap<&String, &Vec<String>>| {
        let mut v: Vec<Named> = a
            .iter()
            .filter(|(k, _)| !b.contains_key(*k))
            .map(|(k, f)| Named {
                name: (*k).clone(),
                features: (*f).clone(),
            })
            .collect();
        v.sort_by(|x, y| x.name.cmp(&y.name));
        v
    };
    Drift {
        added: only(&new, &old),
        removed: only(&old, &new),
    }
}

/// What only `new` lists and what only `old` lists, each in its list's order.
fn added_removed(old: &[String], new: &[String]) -> (Vec<String>, Vec<String>) {
    let only = |a: &[String], b: &[String]| a.iter().filter(|x| !b.contains(x)).cloned().collect();
    (only(new, old), only(old, new))
}

/// Features added and removed between two lists, as changes at `path`.
fn features(old: &[String], new: &[String], path: &str, out: &mut Vec<Change>) {
    let (added, removed) = added_removed(old, new);
    if !added.is_empty() {
        out.push(Change {
            path: path.to_string(),
            kind: ChangeKind::FeaturesAdded { features: added },
        });
    }
    if !removed.is_empty() {
        out.push(Change {
            path: path.to_string(),
            kind: ChangeKind::FeaturesRemoved { features: removed },
        });
    }
}

/// Paths as a tree of segments (`arguments`, `.name`, `[]`, `{tag=case}`, `|object`), so that
/// a deep schema costs memory and time in proportion to its size: a path is spelled out only
/// when it is reported, and then with at most [`Paths::EDGE`] segments from each end.
#[derive(Default)]
struct Paths {
    nodes: Vec<PathNode>,
}

struct PathNode {
    /// `usize::MAX` for a root.
    parent: usize,
    segment: String,
    /// Segments above this one.
    depth: usize,
    /// The last node of the first [`Paths::EDGE`] segments of this path (itself when nearer
    /// the root), so that spelling a path never walks more than `2 * EDGE` segments.
    head: usize,
}

impl Paths {
    const EDGE: usize = 24;

    fn root(&mut self, segment: &str) -> usize {
        self.child(usize::MAX, segment.to_string())
    }

    fn child(&mut self, parent: usize, segment: String) -> usize {
        let id = self.nodes.len();
        let (depth, head) = match self.nodes.get(parent) {
            None => (0, id),
            Some(p) if p.depth + 1 < Self::EDGE => (p.depth + 1, id),
            Some(p) => (p.depth + 1, p.head),
        };
        self.nodes.push(PathNode {
            parent,
            segment,
            depth,
            head,
        });
        id
    }

    /// The segments from `id` up, at most `n`, in path order.
    fn up(&self, mut id: usize, n: usize) -> String {
        let mut segments = Vec::new();
        while let Some(node) = self.nodes.get(id).filter(|_| segments.len() < n) {
            segments.push(node.segment.as_str());
            id = node.parent;
        }
        segments.reverse();
        segments.concat()
    }

    fn spell(&self, id: usize) -> String {
        let Some(node) = self.nodes.get(id) else {
            return String::new();
        };
        let len = node.depth + 1;
        if len <= 2 * Self::EDGE {
            return self.up(id, len);
        }
        format!(
            "{}...({} more)...{}",
            self.up(node.head, Self::EDGE),
            len - 2 * Self::EDGE,
            self.up(id, Self::EDGE)
        )
    }
}

/// The structural comparison of corresponding types.
struct Walk<'s> {
    old: &'s Schema,
    new: &'s Schema,
    /// Pairs already compared (each is compared once, at the first place reached).
    seen: HashSet<(String, String)>,
    /// Types that have a counterpart of the same meta-type on the other side.
    matched_old: HashSet<String>,
    matched_new: HashSet<String>,
}

/// Type pairs still to compare, with where they are.
type Queue = VecDeque<(String, String, usize)>;

impl Walk<'_> {
    /// Compares type `o` of the old schema with type `n` of the new one, found at `root`, and
    /// everything below them, breadth first.
    fn compare(&mut self, o: &str, n: &str, root: &str, out: &mut Vec<Change>) {
        let (old, new) = (self.old, self.new);
        let mut paths = Paths::default();
        let start = paths.root(root);
        let mut queue = Queue::from([(o.to_string(), n.to_string(), start)]);
        while let Some((o, n, at)) = queue.pop_front() {
            if !self.seen.insert((o.clone(), n.clone())) {
                continue;
            }
            let (Some(ot), Some(nt)) = (old.ty(&o), new.ty(&n)) else {
                continue; // (loading checked every reference)
            };
            let path = paths.spell(at);
            let mut push = |kind| {
                out.push(Change {
                    path: path.clone(),
                    kind,
                })
            };
            if ot.meta_type() != nt.meta_type() {
                push(ChangeKind::TypeChanged {
                    old: describe(old, &o),
                    new: describe(new, &n),
                });
                continue;
            }
            self.matched_old.insert(o.clone());
            self.matched_new.insert(n.clone());
            match (ot, nt) {
                (TypeDef::Builtin(a), TypeDef::Builtin(b)) => {
                    if a.json_type != b.json_type {
                        push(ChangeKind::TypeChanged {
                            old: describe(old, &o),
                            new: describe(new, &n),
                        });
                    }
                }
                (TypeDef::Enum(a), TypeDef::Enum(b)) => {
                    let (added, removed) = added_removed(&a.values, &b.values);
                    if !added.is_empty() {
                        push(ChangeKind::EnumValuesAdded { values: added });
                    }
                    if !removed.is_empty() {
                        push(ChangeKind::EnumValuesRemoved { values: removed });
                    }
                    for am in &a.members {
                        if let Some(bm) = b.members.iter().find(|m| m.name == am.name) {
                            let p = format!("{path}={}", am.name);
                            features(&am.features, &bm.features, &p, out);
                        }
                    }
                }
                (TypeDef::Array(a), TypeDef::Array(b)) => {
                    let p = paths.child(at, "[]".into());
                    queue.push_back((a.element_type.clone(), b.element_type.clone(), p));
                }
                (TypeDef::Object(a), TypeDef::Object(b)) => {
                    self.objects(a, b, (at, &path), &mut paths, out, &mut queue);
                }
                (TypeDef::Alternate(a), TypeDef::Alternate(b)) => {
                    for bt in &b.members {
                        let k = json_kind(new, bt);
                        match a.members.iter().find(|t| json_kind(old, t) == k) {
                            Some(t) => {
                                let p = paths.child(at, format!("|{k}"));
                                queue.push_back((t.clone(), bt.clone(), p));
                            }
                            None => push(ChangeKind::BranchAdded {
                                ty: describe(new, bt),
                            }),
                        }
                    }
                    for t in &a.members {
                        let k = json_kind(old, t);
                        if !b.members.iter().any(|bt| json_kind(new, bt) == k) {
                            push(ChangeKind::BranchRemoved {
                                ty: describe(old, t),
                            });
                        }
                    }
                }
                _ => unreachable!("meta-types are equal"),
            }
        }
    }

    /// Members, features, tag and variants of two corresponding object types, found at `at`
    /// (spelled `path`).
    fn objects(
        &mut self,
        a: &ObjectType,
        b: &ObjectType,
        (at, path): (usize, &str),
        paths: &mut Paths,
        out: &mut Vec<Change>,
        queue: &mut Queue,
    ) {
        let mut change = |path: String, kind| out.push(Change { path, kind });
        let member_path = |name: &str| format!("{path}.{name}");
        for bm in &b.members {
            let p = member_path(&bm.name);
            let Some(am) = a.member(&bm.name) else {
                change(
                    p,
                    ChangeKind::MemberAdded {
                        optional: bm.optional,
                        ty: describe(self.new, &bm.ty),
                    },
                );
                continue;
            };
            match (am.optional, bm.optional) {
                (true, false) => change(p.clone(), ChangeKind::OptionalToRequired),
                (false, true) => change(p.clone(), ChangeKind::RequiredToOptional),
                _ => {}
            }
            let below = paths.child(at, format!(".{}", bm.name));
            queue.push_back((am.ty.clone(), bm.ty.clone(), below));
        }
        for am in a.members.iter().filter(|m| b.member(&m.name).is_none()) {
            change(
                member_path(&am.name),
                ChangeKind::MemberRemoved {
                    optional: am.optional,
                    ty: describe(self.old, &am.ty),
                },
            );
        }
        if a.tag != b.tag {
            change(
                path.to_string(),
                ChangeKind::TagChanged {
                    old: a.tag.clone(),
                    new: b.tag.clone(),
                },
            );
        }
        let tag = b.tag.as_deref().unwrap_or("");
        for bv in &b.variants {
            match a.variant(&bv.case) {
                Some(av) => {
                    let p = paths.child(at, format!("{{{tag}={}}}", bv.case));
                    queue.push_back((av.ty.clone(), bv.ty.clone(), p));
                }
                None => change(
                    path.to_string(),
                    ChangeKind::VariantAdded {
                        case: bv.case.clone(),
                    },
                ),
            }
        }
        for av in a.variants.iter().filter(|v| b.variant(&v.case).is_none()) {
            change(
                path.to_string(),
                ChangeKind::VariantRemoved {
                    case: av.case.clone(),
                },
            );
        }
        features(&a.features, &b.features, path, out);
        for bm in &b.members {
            if let Some(am) = a.member(&bm.name) {
                features(&am.features, &bm.features, &member_path(&bm.name), out);
            }
        }
    }
}

/// The JSON kind a value of type `t` has on the wire (what tells alternate branches apart).
fn json_kind(s: &Schema, t: &str) -> &'static str {
    match s.ty(t) {
        Some(TypeDef::Builtin(b)) => match b.json_type {
            JsonType::String => "string",
            JsonType::Int | JsonType::Number => "number",
            JsonType::Boolean => "boolean",
            JsonType::Null => "null",
            JsonType::Value => "value",
        },
        Some(TypeDef::Enum(_)) => "string",
        Some(TypeDef::Array(_)) => "array",
        Some(TypeDef::Object(_)) => "object",
        Some(TypeDef::Alternate(_)) => "alternate",
        None => "unknown",
    }
}

/// A short description of a type (its ids mean nothing to a reader): `string`,
/// `enum (a, b, c, ...)`, `array of object {x, y?}`, `alternate (string | object {...})`.
pub fn describe(s: &Schema, t: &str) -> String {
    describe_to(s, t, 0)
}

fn describe_to(s: &Schema, t: &str, depth: usize) -> String {
    const SHOWN: usize = 4;
    let list = |items: Vec<String>, total: usize| {
        let more = if total > items.len() { ", ..." } else { "" };
        format!("{}{more}", items.join(", "))
    };
    match s.ty(t) {
        None => format!("unknown type {t}"),
        Some(TypeDef::Builtin(b)) => b.json_type.as_str().to_string(),
        Some(TypeDef::Enum(e)) => format!(
            "enum ({})",
            list(
                e.values.iter().take(SHOWN).cloned().collect(),
                e.values.len()
            )
        ),
        Some(TypeDef::Array(a)) if depth < 2 => {
            format!("array of {}", describe_to(s, &a.element_type, depth + 1))
        }
        Some(TypeDef::Array(_)) => "array".into(),
        Some(TypeDef::Object(o)) if depth < 2 => {
            let names = o
                .members
                .iter()
                .take(SHOWN)
                .map(|m| format!("{}{}", m.name, if m.optional { "?" } else { "" }))
                .collect();
            let variants = if o.variants.is_empty() {
                String::new()
            } else {
                format!(" + {} variants", o.variants.len())
            };
            format!("object {{{}}}{variants}", list(names, o.members.len()))
        }
        Some(TypeDef::Object(_)) => "object".into(),
        Some(TypeDef::Alternate(a)) => format!(
            "alternate ({})",
            a.members
                .iter()
                .map(|m| describe_to(s, m, 2))
                .collect::<Vec<_>>()
                .join(" | ")
        ),
    }
}

/// For every type of `s`, the first place it is used: commands by name (arguments, then
/// return), then events by name, breadth first.
fn first_uses(s: &Schema) -> HashMap<String, String> {
    let mut used: HashMap<String, String> = HashMap::new();
    let mut roots: Vec<(String, String)> = Vec::new();
    for c in sorted(s.commands().map(|c| c.name.as_str())) {
        let c = s.command(c).expect("listed");
        roots.push((c.arg_type.clone(), format!("command {}: arguments", c.name)));
        roots.push((c.ret_type.clone(), format!("command {}: return", c.name)));
    }
    for e in sorted(s.events().map(|e| e.name.as_str())) {
        let e = s.event(e).expect("listed");
        roots.push((e.arg_type.clone(), format!("event {}: data", e.name)));
    }
    let mut paths = Paths::default();
    for (t, root) in roots {
        let start = paths.root(&root);
        let mut queue = VecDeque::from([(t, start)]);
        while let Some((t, at)) = queue.pop_front() {
            if used.contains_key(&t) {
                continue;
            }
            let mut below = |t: &String, segment: String| {
                let p = paths.child(at, segment);
                queue.push_back((t.clone(), p));
            };
            match s.ty(&t) {
                Some(TypeDef::Array(a)) => below(&a.element_type, "[]".into()),
                Some(TypeDef::Object(o)) => {
                    for m in &o.members {
                        below(&m.ty, format!(".{}", m.name));
                    }
                    let tag = o.tag.as_deref().unwrap_or("");
                    for v in &o.variants {
                        below(&v.ty, format!("{{{tag}={}}}", v.case));
                    }
                }
                Some(TypeDef::Alternate(a)) => {
                    for m in &a.members {
                        below(m, format!("|{}", json_kind(s, m)));
                    }
                }
                _ => {}
            }
            used.insert(t, paths.spell(at));
        }
    }
    used
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{ArgumentError, IntKind};
    use serde_json::json;

    fn schema(v: Value) -> Schema {
        Schema::from_value(&v).unwrap_or_else(|e| panic!("{e}: {v}"))
    }

    /// One command `c` whose arguments are object "a" and return object "r", plus `types`.
    fn one_command(extra: Value, types: Value) -> Schema {
        let mut c = json!({"name": "c", "meta-type": "command", "arg-type": "a", "ret-type": "r"});
        for (k, v) in extra.as_object().unwrap() {
            c[k] = v.clone();
        }
        let mut all = vec![
            c,
            json!({"name": "str", "meta-type": "builtin", "json-type": "string"}),
            json!({"name": "int", "meta-type": "builtin", "json-type": "int"}),
        ];
        all.extend(types.as_array().unwrap().iter().cloned());
        schema(Value::Array(all))
    }

    fn changes(old: &Schema, new: &Schema) -> Vec<String> {
        let d = SchemaDiff::between(old, new);
        d.changed_commands
            .iter()
            .chain(&d.changed_events)
            .flat_map(|e| {
                e.changes
                    .iter()
                    .map(move |c| format!("{} {}: {}", e.name, c.path, c.kind))
            })
            .collect()
    }

    fn obj(name: &str, members: Value) -> Value {
        json!({"name": name, "meta-type": "object", "members": members})
    }

    /// The figures measured between the two recorded QEMU versions.
    #[test]
    fn qemu_7_2_to_10_0_counts() {
        let d = SchemaDiff::between(Schema::qemu_7_2(), Schema::qemu_10_0());
        assert_eq!((d.old.entries, d.new.entries), (1051, 1172));
        assert_eq!((d.old.commands, d.new.commands), (216, 233));
        assert_eq!((d.commands.added.len(), d.commands.removed.len()), (19, 2));
        assert_eq!((d.old.events, d.new.events), (52, 55));
        assert_eq!((d.events.added.len(), d.events.removed.len()), (5, 2));
        let removed: Vec<&str> = d.commands.removed.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(removed, ["x-query-profile", "x-query-rdma"]);
        let threads = d
            .commands
            .added
            .iter()
            .find(|c| c.name == "query-migrationthreads")
            .unwrap();
        assert_eq!(threads.features, ["deprecated"]);
        // Every type of the new schema is matched, listed as new, or used by nothing (6).
        assert_eq!(d.types.matched + d.types.added.len() + 6, d.new.types);
        assert_eq!(
            (d.types.matched, d.types.added.len(), d.types.removed.len()),
            (784, 94, 3)
        );
        let c = changes(Schema::qemu_7_2(), Schema::qemu_10_0());
        for want in [
            "query-status return.singlestep: member removed (was required, boolean)",
            "migrate arguments.uri: required -> optional",
            "migrate arguments.blk: member removed (was optional, boolean)",
            "BLOCK_IO_ERROR data.qom-path: member added (required, string)",
            "query-block-jobs return[].type: type string -> enum (commit, stream, mirror, backup, ...)",
            "query-block-jobs return[]: union tag (none) -> type",
            "blockdev-add arguments.driver=gluster: features added: deprecated",
            "blockdev-add arguments{driver=qcow2}.discard-no-unref: member added (optional, boolean)",
            "migrate-set-capabilities arguments.capabilities[].capability: enum values removed: compress, block",
        ] {
            assert!(c.iter().any(|x| x == want), "missing {want:?} in {c:#?}");
        }
        let text = d.to_text("7.2", "10.0");
        assert!(
            text.contains("  commands  216 -> 233 (19 added, 2 removed)\n"),
            "{text}"
        );
        assert!(text.contains("  entries   1051 -> 1172\n"), "{text}");
    }

    /// Type ids mean nothing: the same schema with every type renamed has no difference.
    #[test]
    fn renumbered_types_are_no_difference() {
        let s = Schema::qemu_7_2();
        // Every type id is renamed where it is defined and wherever it is referred to.
        let id = |v: &mut Value| {
            let new = format!("t{}", v.as_str().unwrap());
            *v = Value::from(new);
        };
        let mut v = s.to_value().clone();
        for e in v.as_array_mut().unwrap() {
            let meta = e["meta-type"].as_str().unwrap().to_string();
            if meta != "command" && meta != "event" {
                id(&mut e["name"]);
            }
            for key in ["arg-type", "ret-type", "element-type"] {
                if e.get(key).is_some() {
                    id(&mut e[key]);
                }
            }
            if meta == "object" || meta == "alternate" {
                for m in e["members"].as_array_mut().unwrap() {
                    id(&mut m["type"]);
                }
            }
            for m in e
                .get_mut("variants")
                .and_then(Value::as_array_mut)
                .into_iter()
                .flatten()
            {
                id(&mut m["type"]);
            }
        }
        let other = schema(v);
        assert!(other.ty("t0").is_some() && other.ty("tstr").is_some());
        let d = SchemaDiff::between(s, &other);
        assert!(d.is_empty(), "{}", d.to_text("a", "b"));
        assert_eq!(d.types.matched, d.new.types - 2); // (2 types nothing uses)
        assert!(d.to_text("a", "b").ends_with("\nno differences\n"));
    }

    #[test]
    fn members_optionality_types_and_features() {
        let old = one_command(
            json!({}),
            json!([
                obj(
                    "a",
                    json!([
                        {"name": "keep", "type": "str"},
                        {"name": "gone", "type": "int", "default": null},
                        {"name": "opt", "type": "str", "default": null},
                        {"name": "req", "type": "str"},
                        {"name": "retyped", "type": "str"},
                        {"name": "flagged", "type": "str", "features": ["unstable"]}
                    ])
                ),
                obj("r", json!([])),
            ]),
        );
        let new = one_command(
            json!({"allow-oob": true, "features": ["deprecated"]}),
            json!([
                obj(
                    "a",
                    json!([
                        {"name": "keep", "type": "str"},
                        {"name": "opt", "type": "str"},
                        {"name": "req", "type": "str", "default": null},
                        {"name": "retyped", "type": "int"},
                        {"name": "flagged", "type": "str", "features": ["deprecated"]},
                        {"name": "new", "type": "str"}
                    ])
                ),
                obj("r", json!([{"name": "x", "type": "int", "default": null}])),
            ]),
        );
        assert_eq!(
            changes(&old, &new),
            [
                "c : features added: deprecated",
                "c : allow-oob false -> true",
                "c arguments.flagged: features added: deprecated",
                "c arguments.flagged: features removed: unstable",
                "c arguments.gone: member removed (was optional, int)",
                "c arguments.new: member added (required, string)",
                "c arguments.opt: optional -> required",
                "c arguments.req: required -> optional",
                "c arguments.retyped: type string -> int",
                "c return.x: member added (optional, int)",
            ]
        );
        // And back: every change turns around.
        assert_eq!(
            changes(&new, &old),
            [
                "c : features removed: deprecated",
                "c : allow-oob true -> false",
                "c arguments.flagged: features added: unstable",
                "c arguments.flagged: features removed: deprecated",
                "c arguments.gone: member added (optional, int)",
                "c arguments.new: member removed (was required, string)",
                "c arguments.opt: required -> optional",
                "c arguments.req: optional -> required",
                "c arguments.retyped: type int -> string",
                "c return.x: member removed (was optional, int)",
            ]
        );
        assert!(SchemaDiff::between(&old, &old).is_empty());
    }

    #[test]
    fn enums_unions_alternates_and_arrays() {
        let types = |values: Value, variants: Value, branches: Value, elem: &str| {
            json!([
                {"name": "e", "meta-type": "enum", "values": values},
                {"name": "a", "meta-type": "object", "tag": "kind",
                 "members": [{"name": "kind", "type": "e"}, {"name": "alt", "type": "alt"},
                             {"name": "list", "type": "[x]"}],
                 "variants": variants},
                obj("v1", json!([{"name": "p", "type": "str"}])),
                obj("v2", json!([{"name": "p", "type": "int"}])),
                {"name": "alt", "meta-type": "alternate", "members": branches},
                {"name": "[x]", "meta-type": "array", "element-type": elem},
                obj("x", json!([])),
                obj("y", json!([{"name": "z", "type": "str"}])),
                obj("r", json!([])),
            ])
        };
        let schema = |values, variants, branches, elem| {
            one_command(json!({}), types(values, variants, branches, elem))
        };
        let old = schema(
            json!(["one", "two"]),
            json!([{"case": "one", "type": "v1"}, {"case": "two", "type": "v1"}]),
            json!([{"type": "str"}, {"type": "x"}]),
            "x",
        );
        let new = schema(
            json!(["one", "three"]),
            json!([{"case": "one", "type": "v2"}, {"case": "three", "type": "v1"}]),
            json!([{"type": "int"}, {"type": "x"}]),
            "y",
        );
        assert_eq!(
            changes(&old, &new),
            [
                "c arguments: variant added: three",
                "c arguments: variant removed: two",
                "c arguments.alt: alternate branch added: int",
                "c arguments.alt: alternate branch removed: string",
                "c arguments.kind: enum values added: three",
                "c arguments.kind: enum values removed: two",
                "c arguments.list[].z: member added (required, string)",
                "c arguments{kind=one}.p: type string -> int",
            ]
        );
        let d = SchemaDiff::between(&old, &new);
        let added: Vec<&str> = d.types.added.iter().map(|t| t.used_at.as_str()).collect();
        assert_eq!(added, ["command c: arguments{kind=three}"]); // (v1, used by `three` only)
        let j = d.to_json("old.json", "new.json");
        assert_eq!(j["old"]["source"], "old.json");
        assert_eq!(j["new"]["commands"], 1);
        let first = &j["changed_commands"][0]["changes"][0];
        assert_eq!(
            first,
            &json!({"path": "arguments", "change": "variant-added", "case": "three"})
        );
    }

    /// A type that contains itself is compared once; the walk ends.
    #[test]
    fn recursive_types_end() {
        let t = |extra: Value| {
            one_command(
                json!({}),
                json!([
                    obj(
                        "a",
                        json!([{"name": "next", "type": "a", "default": null}, extra])
                    ),
                    obj("r", json!([])),
                ]),
            )
        };
        let old = t(json!({"name": "v", "type": "str"}));
        let new = t(json!({"name": "v", "type": "int"}));
        assert_eq!(changes(&old, &new), ["c arguments.v: type string -> int"]);
    }

    #[test]
    fn commands_events_and_types_only_on_one_side() {
        let old = schema(json!([
            {"name": "gone", "meta-type": "command", "arg-type": "0", "ret-type": "0"},
            {"name": "E", "meta-type": "event", "arg-type": "0", "features": ["deprecated"]},
            obj("0", json!([])),
        ]));
        let new = schema(json!([
            {"name": "fresh", "meta-type": "command", "arg-type": "0", "ret-type": "5",
             "features": ["unstable"]},
            obj("0", json!([])),
            obj("5", json!([{"name": "n", "type": "str"}])),
            {"name": "str", "meta-type": "builtin", "json-type": "string"},
        ]));
        let d = SchemaDiff::between(&old, &new);
        assert_eq!(d.commands.added[0].name, "fresh");
        assert_eq!(d.commands.added[0].features, ["unstable"]);
        assert_eq!(d.commands.removed[0].name, "gone");
        assert_eq!(d.events.removed[0].features, ["deprecated"]);
        let added: Vec<(&str, &str)> = d
            .types
            .added
            .iter()
            .map(|t| (t.id.as_str(), t.used_at.as_str()))
            .collect();
        // "0" is unmatched too: no command or event of both sides reaches it.
        assert_eq!(
            added,
            [
                ("0", "command fresh: arguments"),
                ("5", "command fresh: return"),
                ("str", "command fresh: return.n"),
            ]
        );
        let text = d.to_text("old", "new");
        assert!(
            text.contains("\ncommands added (1):\n  fresh  [unstable]\n"),
            "{text}"
        );
        assert!(
            text.contains("\nevents removed (1):\n  E  [deprecated]\n"),
            "{text}"
        );
    }

    /// However deep the types nest, the walk takes time and memory in proportion to the schema,
    /// and paths are spelled with their ends only.
    #[test]
    fn deep_schemas_are_walked_in_linear_time() {
        const DEPTH: usize = 5_000;
        let chain = |leaf: &str| {
            let mut v = vec![
                json!({"name": "c", "meta-type": "command", "arg-type": "o0", "ret-type": "o0"}),
                json!({"name": "str", "meta-type": "builtin", "json-type": "string"}),
                json!({"name": "int", "meta-type": "builtin", "json-type": "int"}),
            ];
            for i in 0..DEPTH {
                v.push(obj(
                    &format!("o{i}"),
                    json!([{"name": "m", "type": format!("o{}", i + 1)}]),
                ));
            }
            v.push(obj(
                &format!("o{DEPTH}"),
                json!([{"name": "leaf", "type": leaf}]),
            ));
            schema(Value::Array(v))
        };
        let (old, new) = (chain("str"), chain("int"));
        let t = std::time::Instant::now();
        let c = changes(&old, &new);
        let hidden = DEPTH + 2 - 2 * Paths::EDGE;
        let head = ".m".repeat(Paths::EDGE - 1);
        let tail = ".m".repeat(Paths::EDGE - 1);
        assert_eq!(
            c,
            [format!(
                "c arguments{head}...({hidden} more)...{tail}.leaf: type string -> int"
            ),]
        );
        assert!(
            t.elapsed() < std::time::Duration::from_secs(10),
            "{:?}",
            t.elapsed()
        );
    }

    /// QEMU 10.0's schema gets the integer widths of the members 7.2 also has.
    #[test]
    fn integer_widths_carry_over_to_qemu_10_0() {
        let (old, new) = (Schema::qemu_7_2(), Schema::qemu_10_0());
        let arg_type = |s: &Schema| {
            s.command("migrate-set-parameters")
                .unwrap()
                .arg_type
                .clone()
        };
        let (o, n) = (arg_type(old), arg_type(new));
        assert_ne!(o, n, "the ids differ between the versions");
        for (member, kind) in [
            ("max-postcopy-bandwidth", IntKind::Uint64),
            ("multifd-channels", IntKind::Uint8),
            ("x-checkpoint-delay", IntKind::Uint32),
        ] {
            assert_eq!(old.int_kind(&o, member), Some(kind), "{member}");
            assert_eq!(new.int_kind(&n, member), Some(kind), "{member}");
        }
        // New since 7.2: unknown.
        assert_eq!(new.int_kind(&n, "multifd-qatzip-level"), None);
        assert_eq!(
            new.check_arguments(
                "migrate-set-parameters",
                json!({"multifd-channels": 256}).as_object()
            ),
            Err(ArgumentError::OutOfRange {
                member: "multifd-channels".into(),
                c_type: "uint8_t"
            })
        );
    }
}
