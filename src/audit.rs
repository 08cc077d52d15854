//! The audit engine: replay every task's history and look at the board as a whole.
//!
//! Everything happens in one read transaction. The board-wide checks (`quick_check`,
//! orphaned comments and links, dependency cycles) run first; then, with
//! `--with-diagnose`, Hermes' rules (`diagnose::scan`), whose findings are kept per task
//! until that task's turn; then one pass over every task's history
//! (`board::history`), one task at a time, through the replay and the audit's task rules.
//! Findings about the board come first, in an entry whose task fields are null; tasks
//! follow in task id order.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use serde::Serialize;

use crate::board::history::History;
use crate::board::rows::{Listing, Reader, Scope};
use crate::board::schema::Counter;
use crate::board::{Access, Board, Journal, fs, reference::reference};
use crate::config::DiagConfig;
use crate::diagnose::{self, TaskReport};
use crate::error::{Error, Result};
use crate::py::value::{DictKey, Value};
use crate::rules::audit::replay::{Entry, int};
use crate::rules::audit::{self, BoardFacts, Cycle, Orphans, Pointer, TaskFacts};
use crate::rules::{self, Diagnostic, Severity, Verdict};

/// What to audit and how.
#[derive(Debug, Clone)]
pub struct Options {
    pub now: i64,
    pub task: Option<String>,
    pub severity: Option<Severity>,
    /// Only these rule kinds, audit or diagnose (all when `None`).
    pub only: Option<Vec<String>>,
    /// Run Hermes' diagnostic rules too, their findings first in each task's list.
    pub with_diagnose: bool,
    /// `integrity_check` instead of `quick_check`.
    pub deep: bool,
    pub wait: Duration,
}

/// How many missing task ids an orphan finding lists.
const EXAMPLES: usize = 10;

fn split_only(only: Option<&[String]>) -> (Option<Vec<String>>, Option<Vec<String>>) {
    match only {
        None => (None, None),
        Some(kinds) => {
            let (a, d): (Vec<String>, Vec<String>) = kinds
                .iter()
                .cloned()
                .partition(|k| audit::KINDS.contains(&k.as_str()));
            (Some(a), Some(d))
        }
    }
}

fn keep(diags: &mut Vec<Diagnostic>, severity: Option<Severity>) {
    if let Some(min) = severity {
        diags.retain(|d| d.severity >= min);
    }
}

/// The rules a run with `opts` evaluates, in the order their findings come: Hermes' rules
/// (with `--with-diagnose`), then the audit's; with `--task`, none of the board-wide ones.
pub fn rules_run(opts: &Options) -> Vec<&'static rules::RuleDoc> {
    let wants = |kind: &str| {
        opts.only
            .as_ref()
            .is_none_or(|o| o.iter().any(|k| k == kind))
    };
    let hermes = rules::DOCS
        .iter()
        .filter(|d| opts.with_diagnose && wants(d.kind));
    let own = audit::DOCS
        .iter()
        .filter(|d| wants(d.kind) && (opts.task.is_none() || audit::TASK_KINDS.contains(&d.kind)));
    hermes.chain(own).copied().collect()
}

/// Open the board read-only and audit it, calling `emit` for each entry to report.
pub fn run(
    path: &Path,
    cfg: &DiagConfig,
    opts: &Options,
    mut emit: impl FnMut(TaskReport) -> Result<()>,
) -> Result<diagnose::Summary> {
    let board = Board::open(path, Access::ReadOnly, opts.wait)?;
    let reader = board.reader()?;
    let state = reader.snapshot().checked_state(path, reference())?;
    let (audit_only, diag_only) = split_only(opts.only.as_deref());
    let params = audit::Params::new(cfg, opts.now);

    // Hermes' rules first, held per task until the task's turn below.
    let mut from_diagnose: HashMap<DictKey, Vec<Diagnostic>> = HashMap::new();
    let mut scan = diagnose::Scan {
        tasks_scanned: 0,
        failures: Default::default(),
    };
    let run_diagnose = opts.with_diagnose && diag_only.as_ref().is_none_or(|d| !d.is_empty());
    if run_diagnose {
        let dopts = diagnose::Options {
            now: opts.now,
            task: opts.task.clone(),
            severity: opts.severity,
            only: diag_only,
            wait: opts.wait,
        };
        scan = diagnose::scan(&reader, cfg, &dopts, |rep| {
            if !rep.diagnostics.is_empty() {
                from_diagnose.insert(rep.task_id.dict_key(), rep.diagnostics);
            }
            Ok(())
        })?;
    } else if let Some(id) = &opts.task
        && reader.task(id)?.is_none()
    {
        return Err(Error::UnknownTask { id: id.clone() });
    }

    let only = audit_only.as_deref();
    let mut facts = BoardFacts {
        schema_label: state.label(),
        schema_needs_migrate: state.counter != Counter::Current
            || !state.missing_columns.is_empty()
            || !state.missing_tables.is_empty(),
        journal: match board.header.journal {
            Journal::Wal => "wal",
            Journal::Rollback => "rollback",
        },
        filesystem: board.filesystem.clone(),
        network_filesystem: board.filesystem.as_deref().is_some_and(fs::is_network),
        writer_sqlite: board.header.sqlite_version,
        check_pragma: if opts.deep {
            "integrity_check"
        } else {
            "quick_check"
        },
        ..BoardFacts::default()
    };
    let board_wide = opts.task.is_none();
    // `--rule` skips the work no selected rule needs.
    let wants = |kind: &str| only.is_none_or(|o| o.iter().any(|k| k == kind));
    if board_wide {
        if wants("storage_integrity") {
            facts.check_messages = check_pragma(&reader, facts.check_pragma)?;
        }
        if wants("orphaned_rows") {
            for table in ["task_runs", "task_events", "task_comments"] {
                facts.orphans.push(orphans(&reader, table)?);
            }
        }
        if wants("orphaned_rows") || wants("dependency_cycle") {
            let (links, cycles) = links(&reader)?;
            facts.orphans.push(links);
            facts.cycles = cycles;
        }
    }
    let task_rules = audit::TASK_KINDS.iter().any(|k| wants(k));

    if board_wide {
        let mut board_diags = audit::check_board(&facts, only);
        keep(&mut board_diags, opts.severity);
        if !board_diags.is_empty() {
            emit(TaskReport {
                task_id: Value::Null,
                listing: Some(Listing::default()),
                diagnostics: board_diags,
            })?;
        }
    }

    // Task histories, one task at a time; rows without a task were counted above.
    let scope = match &opts.task {
        Some(id) => Scope::Task(id),
        None => Scope::Board,
    };
    let mut scanned = 0u64;
    let history_scope = if task_rules || run_diagnose || opts.task.is_some() {
        Some(scope)
    } else {
        None
    };
    reader.histories_if(history_scope, |h| {
        let Some(task) = &h.task else {
            return Ok(());
        };
        if opts.task.is_none() && task.status.as_text() == Some("archived") {
            return Ok(());
        }
        scanned += 1;
        let (limit, _) = audit::task_limit(task, &params);
        let replay = audit::replay(&h, limit, false);
        let f = facts_of(&h, task, &replay);
        let mut diags = from_diagnose
            .remove(&task.id.dict_key())
            .unwrap_or_default();
        let mut own = audit::check_task(&f, &params, only);
        keep(&mut own, opts.severity);
        diags.extend(own);
        if diags.is_empty() && (opts.task.is_none() || opts.severity.is_some()) {
            return Ok(());
        }
        emit(TaskReport {
            task_id: task.id.clone(),
            listing: Some(Listing {
                title: task.title.clone(),
                status: task.status.clone(),
                assignee: task.assignee.clone(),
            }),
            diagnostics: diags,
        })
    })?;
    reader.finish()?;
    Ok(diagnose::Summary {
        state,
        journal: board.header.journal,
        // The `wal_on_network_fs` rule reports it, as a finding.
        filesystem_warning: None,
        tasks_scanned: scanned.max(scan.tasks_scanned),
        failures: scan.failures,
    })
}

/// The facts a task rule reads, from the task's history and its replay.
fn facts_of<'a>(
    h: &History,
    task: &'a crate::board::history::TaskHead,
    replay: &'a audit::Replay,
) -> TaskFacts<'a> {
    let open_runs: Vec<i64> = h
        .runs
        .iter()
        .filter(|r| r.ended_at.is_null())
        .filter_map(|r| int(&r.id))
        .collect();
    let pointer = match int(&task.current_run_id) {
        None => Pointer::None,
        Some(id) => match h.runs.iter().find(|r| int(&r.id) == Some(id)) {
            None => Pointer::Missing(id),
            Some(r) if r.ended_at.is_null() => Pointer::Open(id),
            Some(_) => Pointer::Closed(id),
        },
    };
    TaskFacts {
        task,
        replay,
        open_runs,
        pointer,
    }
}

fn check_pragma(reader: &Reader<'_>, pragma: &str) -> Result<Vec<String>> {
    let mut out = Vec::new();
    reader.each_row(&format!("PRAGMA {pragma}(20)"), |r| {
        out.push(Value::from_ref(r.get_ref(0)?).py_str());
        Ok(())
    })?;
    Ok(out)
}

/// Rows of `table` whose `task_id` names no task.
fn orphans(reader: &Reader<'_>, table: &'static str) -> Result<Orphans> {
    let mut o = Orphans {
        table,
        rows: 0,
        task_ids: Vec::new(),
    };
    let snap = reader.snapshot();
    if !snap.has_column(table, "task_id") || !snap.has_column("tasks", "id") {
        return Ok(o);
    }
    reader.each_row(
        &format!(
            "SELECT task_id, count(*) FROM \"{table}\" c \
             WHERE NOT EXISTS (SELECT 1 FROM tasks t WHERE t.id = c.task_id) \
             GROUP BY task_id ORDER BY task_id"
        ),
        |r| {
            let n: i64 = r.get(1)?;
            o.rows += n as u64;
            if o.task_ids.len() < EXAMPLES {
                o.task_ids.push(Value::from_ref(r.get_ref(0)?).py_str());
            }
            Ok(())
        },
    )?;
    Ok(o)
}

/// Links whose parent or child is missing, and the dependency cycles.
fn links(reader: &Reader<'_>) -> Result<(Orphans, Vec<Cycle>)> {
    let mut o = Orphans {
        table: "task_links",
        rows: 0,
        task_ids: Vec::new(),
    };
    let snap = reader.snapshot();
    if !snap.has_column("task_links", "parent_id") || !snap.has_column("task_links", "child_id") {
        return Ok((o, Vec::new()));
    }
    let mut graph = Graph::default();
    reader.each_row(
        "SELECT parent_id, child_id, \
         EXISTS (SELECT 1 FROM tasks t WHERE t.id = l.parent_id), \
         EXISTS (SELECT 1 FROM tasks t WHERE t.id = l.child_id) FROM task_links l",
        |r| {
            let parent = Value::from_ref(r.get_ref(0)?);
            let child = Value::from_ref(r.get_ref(1)?);
            let (has_parent, has_child): (bool, bool) = (r.get(2)?, r.get(3)?);
            if !has_parent || !has_child {
                o.rows += 1;
                for (v, ok) in [(&parent, has_parent), (&child, has_child)] {
                    if !ok && o.task_ids.len() < EXAMPLES {
                        o.task_ids.push(v.py_str());
                    }
                }
            }
            graph.edge(&parent, &child);
            Ok(())
        },
    )?;
    Ok((o, graph.cycles()))
}

/// A membership table for one component.
fn on_stack_of(n: usize, comp: &[usize]) -> Vec<bool> {
    let mut member = vec![false; n];
    for &w in comp {
        member[w] = true;
    }
    member
}

/// The links as a graph, for Tarjan's strongly connected components.
#[derive(Default)]
struct Graph {
    index: HashMap<DictKey, usize>,
    names: Vec<String>,
    edges: Vec<Vec<usize>>,
}

impl Graph {
    fn node(&mut self, v: &Value) -> usize {
        let k = v.dict_key();
        if let Some(&i) = self.index.get(&k) {
            return i;
        }
        let i = self.names.len();
        self.index.insert(k, i);
        self.names.push(v.py_str());
        self.edges.push(Vec::new());
        i
    }

    fn edge(&mut self, from: &Value, to: &Value) {
        let (a, b) = (self.node(from), self.node(to));
        self.edges[a].push(b);
    }

    /// The shortest cycle through the component's first node, by breadth-first search over
    /// the component's own links: a path that really is a chain of links.
    fn shortest_cycle(&self, comp: &[usize], member: &[bool]) -> Vec<usize> {
        let start = comp[0];
        let mut parent: HashMap<usize, usize> = HashMap::new();
        let mut queue = std::collections::VecDeque::from([start]);
        while let Some(v) = queue.pop_front() {
            for &w in &self.edges[v] {
                if !member[w] {
                    continue;
                }
                if w == start {
                    let mut path = vec![v];
                    let mut cur = v;
                    while cur != start {
                        cur = parent[&cur];
                        path.push(cur);
                    }
                    path.reverse();
                    return path;
                }
                if let std::collections::hash_map::Entry::Vacant(e) = parent.entry(w) {
                    e.insert(v);
                    queue.push_back(w);
                }
            }
        }
        vec![start]
    }

    /// Every strongly connected component with a cycle (two or more nodes, or a self
    /// link): its nodes in discovery order and one real cycle through it; iterative, so a
    /// long chain cannot overflow.
    fn cycles(&self) -> Vec<Cycle> {
        let n = self.names.len();
        let mut index = vec![usize::MAX; n];
        let mut low = vec![0; n];
        let mut on_stack = vec![false; n];
        let mut stack = Vec::new();
        let mut next = 0;
        let mut out = Vec::new();
        for root in 0..n {
            if index[root] != usize::MAX {
                continue;
            }
            let mut work = vec![(root, 0usize)];
            while let Some(&mut (v, ref mut child)) = work.last_mut() {
                if *child == 0 && index[v] == usize::MAX {
                    index[v] = next;
                    low[v] = next;
                    next += 1;
                    stack.push(v);
                    on_stack[v] = true;
                }
                if let Some(&w) = self.edges[v].get(*child) {
                    *child += 1;
                    if index[w] == usize::MAX {
                        work.push((w, 0));
                    } else if on_stack[w] {
                        low[v] = low[v].min(index[w]);
                    }
                    continue;
                }
                work.pop();
                if let Some(&(parent, _)) = work.last() {
                    low[parent] = low[parent].min(low[v]);
                }
                if low[v] == index[v] {
                    let mut comp = Vec::new();
                    while let Some(w) = stack.pop() {
                        on_stack[w] = false;
                        comp.push(w);
                        if w == v {
                            break;
                        }
                    }
                    let self_loop = comp.len() == 1 && self.edges[v].contains(&v);
                    if comp.len() > 1 || self_loop {
                        comp.sort_unstable_by_key(|&w| index[w]);
                        let path = self.shortest_cycle(&comp, &on_stack_of(n, &comp));
                        out.push(Cycle {
                            members: comp.iter().map(|&w| self.names[w].clone()).collect(),
                            path: path.iter().map(|&w| self.names[w].clone()).collect(),
                        });
                    }
                }
            }
        }
        out
    }
}

/// One rule's verdict, named.
#[derive(Debug, Clone, Serialize)]
pub struct RuleVerdict {
    pub kind: &'static str,
    /// `diagnose` (Hermes' rules) or `audit`.
    pub source: &'static str,
    #[serde(flatten)]
    pub verdict: Verdict,
}

/// Everything `explain TASK` shows.
#[derive(Debug, Clone, Serialize)]
pub struct Explanation {
    #[serde(serialize_with = "ser_value")]
    pub task_id: Value,
    #[serde(serialize_with = "ser_value")]
    pub title: Value,
    #[serde(serialize_with = "ser_value")]
    pub status: Value,
    #[serde(serialize_with = "ser_value")]
    pub assignee: Value,
    /// The stored counter.
    #[serde(serialize_with = "ser_value")]
    pub stored: Value,
    /// The counter the 0.19.0 kernel would hold.
    pub recomputed: i64,
    pub limit: i64,
    pub limit_source: &'static str,
    pub timeline: Vec<Entry>,
    pub rules: Vec<RuleVerdict>,
}

fn ser_value<S: serde::Serializer>(v: &Value, s: S) -> std::result::Result<S::Ok, S::Error> {
    v.to_json().serialize(s)
}

/// Replay one task for a human: its timeline and every rule's verdict.
pub fn explain(
    path: &Path,
    cfg: &DiagConfig,
    id: &str,
    now: i64,
    wait: Duration,
) -> Result<Explanation> {
    let board = Board::open(path, Access::ReadOnly, wait)?;
    let reader = board.reader()?;
    reader.snapshot().checked_state(path, reference())?;
    // Hermes' rules, as `diagnose --task` runs them.
    let task = reader
        .task(id)?
        .ok_or_else(|| Error::UnknownTask { id: id.into() })?;
    let dparams = rules::Params::new(cfg, now);
    let mut st = rules::TaskState::default();
    let payload_kinds: Vec<&str> = rules::PAYLOAD_KINDS
        .iter()
        .flat_map(|l| l.iter().copied())
        .collect();
    let error_outcomes: Vec<&str> = rules::RUN_ERROR_OUTCOMES
        .iter()
        .flat_map(|l| l.iter().copied())
        .collect();
    reader.events(Scope::Task(id), &payload_kinds, |_, ev| {
        st.on_event(ev, &dparams)
    })?;
    reader.runs(Scope::Task(id), &error_outcomes, |_, run| {
        st.on_run(run, &dparams)
    })?;
    let mut verdicts: Vec<RuleVerdict> = st
        .explain(&task, &dparams, now)
        .into_iter()
        .map(|(kind, verdict)| RuleVerdict {
            kind,
            source: "diagnose",
            verdict,
        })
        .collect();

    let mut history = None;
    reader.histories(Scope::Task(id), |h| {
        if h.task.is_some() {
            history = Some(h);
        }
        Ok(())
    })?;
    reader.finish()?;
    let h = history.ok_or_else(|| Error::UnknownTask { id: id.into() })?;
    let head = h.task.clone().expect("kept only with a task row");
    let params = audit::Params::new(cfg, now);
    let replay = audit::replay(&h, audit::task_limit(&head, &params).0, true);
    let f = facts_of(&h, &head, &replay);
    let (limit, source) = f.limit(&params);
    verdicts.extend(
        audit::explain_task(&f, &params)
            .into_iter()
            .map(|(kind, verdict)| RuleVerdict {
                kind,
                source: "audit",
                verdict,
            }),
    );
    Ok(Explanation {
        task_id: head.id.clone(),
        title: head.title.clone(),
        status: head.status.clone(),
        assignee: head.assignee.clone(),
        stored: head.consecutive_failures.clone(),
        recomputed: replay.counter,
        limit,
        limit_source: source.as_str(),
        timeline: replay.entries.clone(),
        rules: verdicts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(edges: &[(&str, &str)]) -> Vec<(Vec<String>, Vec<String>)> {
        let mut g = Graph::default();
        for (a, b) in edges {
            g.edge(&Value::Text((*a).into()), &Value::Text((*b).into()));
        }
        g.cycles()
            .into_iter()
            .map(|c| (c.members, c.path))
            .collect()
    }

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn cycles_are_found_with_their_members_and_a_real_path() {
        assert_eq!(
            graph(&[("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")]),
            [(strings(&["a", "b", "c"]), strings(&["a", "b", "c"]))]
        );
        assert_eq!(graph(&[("x", "x")]), [(strings(&["x"]), strings(&["x"]))]);
        assert!(graph(&[("a", "b"), ("a", "c"), ("b", "c")]).is_empty());
    }

    /// One component, two cycles through `a`: discovery order (a, b, c, d) is no chain of
    /// links, the path is the shortest real cycle.
    #[test]
    fn the_path_follows_links_even_when_discovery_order_does_not() {
        let found = graph(&[("a", "b"), ("b", "c"), ("c", "a"), ("b", "d"), ("d", "a")]);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].0, strings(&["a", "b", "c", "d"]));
        assert_eq!(found[0].1, strings(&["a", "b", "c"]));
    }

    #[test]
    fn a_long_chain_does_not_overflow_the_stack() {
        let names: Vec<String> = (0..200_000).map(|i| format!("t{i}")).collect();
        let mut g = Graph::default();
        for w in names.windows(2) {
            g.edge(&Value::Text(w[0].clone()), &Value::Text(w[1].clone()));
        }
        g.edge(
            &Value::Text(names[names.len() - 1].clone()),
            &Value::Text(names[0].clone()),
        );
        let cycles = g.cycles();
        assert_eq!(cycles.len(), 1);
        assert_eq!(cycles[0].members.len(), 200_000);
        assert_eq!(cycles[0].path.len(), 200_000);
    }

    #[test]
    fn ids_of_different_types_are_different_tasks() {
        let mut g = Graph::default();
        g.edge(&Value::Int(1), &Value::Text("1".into()));
        g.edge(&Value::Text("1".into()), &Value::Text("2".into()));
        assert!(g.cycles().is_empty());
    }
}
