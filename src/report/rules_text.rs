//! `kanban-doctor rules`: every rule in one table, or one rule's documentation; as text or
//! as JSON. The documentation itself is data on each rule ([`RuleDoc`]); this only lays it
//! out.

use std::io::{self, Write};

use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use serde::Serialize;

use super::style::Style;
use crate::rules::{RuleDoc, Runner, Severity};

/// One rule as `rules --json` prints it; `body` only for `rules KIND --json`.
#[derive(Serialize)]
struct Entry<'a> {
    kind: &'a str,
    command: Runner,
    default_severity: Severity,
    severities: &'a [Severity],
    config_keys: &'a [&'a str],
    summary: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    body: Option<&'a str>,
}

fn entry(runner: Runner, doc: &RuleDoc, with_body: bool) -> Entry<'_> {
    Entry {
        kind: doc.kind,
        command: runner,
        default_severity: doc.default_severity(),
        severities: doc.severities,
        config_keys: doc.config_keys,
        summary: doc.summary,
        body: with_body.then_some(doc.body),
    }
}

/// Every rule: kind, the command that runs it, its default severity, the config keys that
/// tune it, and its one-line summary. Fitted to a narrow terminal, the keys and the summary
/// wrap; the first three columns never do.
pub fn list(out: &mut impl Write, style: &Style, rules: &[(Runner, &RuleDoc)]) -> io::Result<()> {
    let mut table = Table::new();
    table.load_style(UTF8_FULL_CONDENSED).set_header([
        "rule",
        "command",
        "severity",
        "config keys",
        "summary",
    ]);
    for (runner, doc) in rules {
        let keys = if doc.config_keys.is_empty() {
            "-".to_string()
        } else {
            doc.config_keys.join("\n")
        };
        table.add_row([
            doc.kind,
            runner.as_str(),
            doc.default_severity().as_str(),
            &keys,
            doc.summary,
        ]);
    }
    style.fit_keeping(&mut table, &[0, 1, 2]);
    writeln!(out, "{table}")?;
    let count = |r: Runner| rules.iter().filter(|(x, _)| *x == r).count();
    writeln!(
        out,
        "{} rules: {} run by `diagnose`, {} by `audit` (and `audit --with-diagnose` runs both).",
        rules.len(),
        count(Runner::Diagnose),
        count(Runner::Audit)
    )?;
    writeln!(
        out,
        "{}",
        style.dim("`kanban-doctor rules KIND` prints a rule's documentation.")
    )
}

/// `rules --json`: the list as data.
pub fn list_json(rules: &[(Runner, &RuleDoc)]) -> String {
    let entries: Vec<Entry<'_>> = rules.iter().map(|(r, d)| entry(*r, d, false)).collect();
    super::json::to_string(&entries)
}

/// `rules KIND`: the documentation `--explain` prints, with the command that runs it.
pub fn one(out: &mut impl Write, runner: Runner, doc: &RuleDoc) -> io::Result<()> {
    super::diagnose_text::explain_run_by(out, doc, Some(runner.as_str()))
}

/// `rules KIND --json`: the same as data, body included.
pub fn one_json(runner: Runner, doc: &RuleDoc) -> String {
    super::json::to_string(&entry(runner, doc, true))
}
