//! `--format prometheus`: the Prometheus text exposition format, for node_exporter's
//! textfile collector (a cron job writes it into the collector's directory; alert rules
//! fire on it).
//!
//! Every series carries `board` (the path as given) and `command` (`diagnose` or `audit`,
//! so the two can be written to two files without clashing):
//!
//! - `kanban_doctor_findings{rule,severity}`: findings per rule and severity, with a zero
//!   for every severity of every rule that ran, so an alert can test `== 0` and `absent()`
//!   tells a check that never ran from a clean one;
//! - `kanban_doctor_tasks_scanned`;
//! - `kanban_doctor_schema_state{state}`: 1 for the board's schema state, 0 for the others;
//! - `kanban_doctor_last_check_timestamp_seconds`: `--now`, or the time of the check.
//!
//! Label values are escaped as the format requires (`\\`, `\"`, `\n`).

use std::fmt::Write as _;
use std::io::{self, Write};

use super::finding::BoardLocation;
use super::{BoardInfo, RunInfo, Sink};
use crate::board::schema::Counter;
use crate::diagnose::TaskReport;
use crate::rules::Severity;

/// A label value as the exposition format writes it.
pub fn escape_label(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// One board's numbers.
struct Board {
    name: String,
    /// (rule, severity, findings), the rules that ran first, in their order.
    findings: Vec<(&'static str, Severity, u64)>,
    tasks_scanned: u64,
    state: Option<Counter>,
}

pub struct PrometheusSink {
    run: RunInfo,
    boards: Vec<Board>,
}

impl PrometheusSink {
    pub fn new(run: &RunInfo) -> Self {
        PrometheusSink {
            run: run.clone(),
            boards: Vec::new(),
        }
    }

    fn labels(&self, board: &Board, extra: &[(&str, &str)]) -> String {
        let mut out = format!(
            "board=\"{}\",command=\"{}\"",
            escape_label(&board.name),
            escape_label(self.run.command)
        );
        for (k, v) in extra {
            let _ = write!(out, ",{k}=\"{}\"", escape_label(v));
        }
        out
    }
}

impl Sink for PrometheusSink {
    fn begin_board(&mut self, board: &BoardLocation) -> io::Result<()> {
        let findings = self
            .run
            .rules
            .iter()
            .flat_map(|r| r.severities.iter().map(|s| (r.kind, *s, 0)))
            .collect();
        self.boards.push(Board {
            name: board.given.clone(),
            findings,
            tasks_scanned: 0,
            state: None,
        });
        Ok(())
    }

    fn add(&mut self, report: &TaskReport) -> io::Result<()> {
        let board = self
            .boards
            .last_mut()
            .expect("begin_board comes before the first entry");
        for d in &report.diagnostics {
            match board
                .findings
                .iter_mut()
                .find(|(k, s, _)| *k == d.kind && *s == d.severity)
            {
                Some(row) => row.2 += 1,
                None => board.findings.push((d.kind, d.severity, 1)),
            }
        }
        Ok(())
    }

    fn end_board(&mut self, info: &BoardInfo<'_>) -> io::Result<()> {
        if let Some(board) = self.boards.last_mut() {
            board.tasks_scanned = info.summary.tasks_scanned;
            board.state = Some(info.summary.state.counter);
        }
        Ok(())
    }

    fn finish(self: Box<Self>, out: &mut dyn Write) -> io::Result<()> {
        let this = &*self;
        let mut text = String::new();
        let mut family = |name: &str, help: &str, series: Vec<(String, String)>| {
            let _ = writeln!(text, "# HELP {name} {help}");
            let _ = writeln!(text, "# TYPE {name} gauge");
            for (labels, value) in series {
                let _ = writeln!(text, "{name}{{{labels}}} {value}");
            }
        };
        family(
            "kanban_doctor_findings",
            "Findings of the last check, by rule and severity (0 for each rule that ran).",
            this.boards
                .iter()
                .flat_map(|b| {
                    b.findings.iter().map(move |(rule, sev, n)| {
                        (
                            this.labels(b, &[("rule", rule), ("severity", sev.as_str())]),
                            n.to_string(),
                        )
                    })
                })
                .collect(),
        );
        family(
            "kanban_doctor_tasks_scanned",
            "Tasks the last check read.",
            this.boards
                .iter()
                .map(|b| (this.labels(b, &[]), b.tasks_scanned.to_string()))
                .collect(),
        );
        family(
            "kanban_doctor_schema_state",
            "The board's schema state: 1 for the state it is in, 0 for the others.",
            this.boards
                .iter()
                .flat_map(|b| {
                    Counter::ALL.iter().map(move |c| {
                        (
                            this.labels(b, &[("state", c.as_str())]),
                            u8::from(b.state == Some(*c)).to_string(),
                        )
                    })
                })
                .collect(),
        );
        family(
            "kanban_doctor_last_check_timestamp_seconds",
            "When the last check ran, in Unix time.",
            this.boards
                .iter()
                .map(|b| (this.labels(b, &[]), this.run.checked_at.to_string()))
                .collect(),
        );
        out.write_all(text.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_escape_backslash_quote_and_newline() {
        assert_eq!(escape_label("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
        assert_eq!(escape_label("é\t"), "é\t");
    }
}
