//! `--format sarif`: SARIF 2.1.0, as GitHub code scanning reads it.
//!
//! One run. `tool.driver.rules` lists the rules that ran, each with its documentation
//! ([`RuleDoc`]): id = kind, the summary as short description, "What it does" as full
//! description, the default severity as level, the whole body as help. Each finding is a
//! result anchored at the board file, line 1 (a board has no lines, and GitHub rejects the
//! whole file for a single result without a location), with a logical location naming the
//! task (none for `audit`'s findings about the board itself) and a fingerprint that stays
//! the same from run to run ([`finding::fingerprint`]).
//!
//! GitHub accepts at most 25,000 results per run and 10 MB of gzipped SARIF. Results are
//! kept in board order while both hold; the rest are cut, and [`Sink::warnings`] says how
//! many. The gzipped size is measured as the document is written: the results go through a
//! gzip encoder beside the spill file, flushed every MiB so the count never lags far, and
//! the rules and the closing lines are counted at their uncompressed size.

use std::io::{self, Write};

use flate2::Compression;
use flate2::write::GzEncoder;
use serde_json::{Value as Json, json};

use super::finding::{self, BoardLocation};
use super::{BoardInfo, RunInfo, Sink, Spill};
use crate::diagnose::TaskReport;
use crate::rules::{Diagnostic, RuleDoc, Severity};

/// The schema the document names.
pub const SCHEMA_URI: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

/// The key of each result's `partialFingerprints`; bump the version if what it hashes changes.
pub const FINGERPRINT_KEY: &str = "kanbanDoctorFinding/v1";

/// What GitHub code scanning accepts in one upload.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub results: usize,
    pub gzip_bytes: u64,
}

impl Limits {
    pub const GITHUB: Limits = Limits {
        results: 25_000,
        gzip_bytes: 10_000_000,
    };
}

/// How far the results may run ahead of the encoder's output before a flush.
const FLUSH_EVERY: u64 = 1 << 20;
/// Room for the run's closing properties and for gzip's framing.
const TAIL_ROOM: u64 = 4096;

/// The SARIF level of a severity.
pub fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

/// Counts what the gzip encoder writes, and keeps nothing.
struct Counter(u64);

impl Write for Counter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

pub struct SarifSink {
    run: RunInfo,
    limits: Limits,
    /// The document up to the opening of the results array.
    head: String,
    results: Spill,
    gz: GzEncoder<Counter>,
    /// Bytes given to the encoder since it was last flushed.
    pending: u64,
    board: Option<BoardLocation>,
    written: usize,
    /// Results left out, and whether the size limit (not the count) cut the first.
    cut: usize,
    full: bool,
    tasks_scanned: u64,
}

impl SarifSink {
    pub fn new(run: &RunInfo) -> io::Result<Self> {
        Self::with_limits(run, Limits::GITHUB)
    }

    pub fn with_limits(run: &RunInfo, limits: Limits) -> io::Result<Self> {
        let skeleton = json!({
            "$schema": SCHEMA_URI,
            "version": "2.1.0",
            "runs": [{"tool": {"driver": driver(&run.rules)}, "results": []}],
        });
        let text = serde_json::to_string_pretty(&skeleton).expect("plain JSON");
        // Strings hold no raw newline, so this is the key and nothing inside a string.
        let marker = "\n      \"results\": []";
        let at = text.find(marker).expect("the skeleton has results") + marker.len() - 1;
        Ok(SarifSink {
            run: run.clone(),
            limits,
            head: text[..at].to_string(),
            results: Spill::new()?,
            gz: GzEncoder::new(Counter(0), Compression::default()),
            pending: 0,
            board: None,
            written: 0,
            cut: 0,
            full: false,
            tasks_scanned: 0,
        })
    }

    fn result(&self, board: &BoardLocation, report: &TaskReport, d: &Diagnostic) -> Json {
        let mut location = json!({
            "physicalLocation": {
                "artifactLocation": {"uri": board.uri},
                "region": {"startLine": 1},
            },
        });
        if !report.about_board() {
            let id = report.task_id.py_str();
            location["logicalLocations"] = json!([{
                "name": id,
                "fullyQualifiedName": id,
                "kind": "object",
            }]);
        }
        let mut r = json!({"ruleId": d.kind});
        if let Some(i) = self.run.rules.iter().position(|r| r.kind == d.kind) {
            r["ruleIndex"] = i.into();
        }
        r["level"] = level(d.severity).into();
        r["message"] = json!({"text": finding::message(report, d)});
        r["locations"] = json!([location]);
        r["partialFingerprints"] =
            json!({FINGERPRINT_KEY: finding::fingerprint(board, report, d.kind)});
        r["properties"] = json!({
            "severity": d.severity.as_str(),
            "board": board.given,
            "task": if report.about_board() { Json::Null } else { finding::task_json(report) },
            "finding": finding::diagnostic_json(d),
        });
        r
    }

    /// Whether one more result of `len` bytes keeps the gzipped document under the limit,
    /// counting what the encoder has not written yet at its full size.
    fn fits(&self, len: u64) -> bool {
        let so_far = self.gz.get_ref().0 + self.pending;
        so_far + len + self.head.len() as u64 + TAIL_ROOM <= self.limits.gzip_bytes
    }
}

impl Sink for SarifSink {
    fn begin_board(&mut self, board: &BoardLocation) -> io::Result<()> {
        self.board = Some(board.clone());
        Ok(())
    }

    fn add(&mut self, report: &TaskReport) -> io::Result<()> {
        let board = self
            .board
            .clone()
            .expect("begin_board comes before the first entry");
        for d in &report.diagnostics {
            if self.full || self.written >= self.limits.results {
                self.cut += 1;
                continue;
            }
            let body = serde_json::to_string_pretty(&self.result(&board, report, d))
                .expect("plain JSON")
                .replace('\n', "\n        ");
            let sep = if self.written == 0 {
                "\n        "
            } else {
                ",\n        "
            };
            let text = format!("{sep}{body}");
            if !self.fits(text.len() as u64) {
                self.full = true;
                self.cut += 1;
                continue;
            }
            self.results.write_all(text.as_bytes())?;
            self.gz.write_all(text.as_bytes())?;
            self.pending += text.len() as u64;
            if self.pending >= FLUSH_EVERY {
                self.gz.flush()?;
                self.pending = 0;
            }
            self.written += 1;
        }
        Ok(())
    }

    fn end_board(&mut self, board: &BoardInfo<'_>) -> io::Result<()> {
        self.tasks_scanned += board.summary.tasks_scanned;
        Ok(())
    }

    fn warnings(&self) -> Vec<String> {
        if self.cut == 0 {
            return Vec::new();
        }
        let total = self.written + self.cut;
        let why = if self.full {
            format!(
                "GitHub code scanning accepts at most {} bytes of gzipped SARIF",
                self.limits.gzip_bytes
            )
        } else {
            format!(
                "GitHub code scanning accepts at most {} results per run",
                self.limits.results
            )
        };
        vec![format!(
            "warning: SARIF output cut to the first {} of {total} results ({} left out): {why}; \
             --severity keeps the more urgent ones, --format json lists all",
            self.written, self.cut
        )]
    }

    fn finish(self: Box<Self>, out: &mut dyn Write) -> io::Result<()> {
        let properties = json!({
            "command": self.run.command,
            "checkedAt": self.run.checked_at,
            "tasksScanned": self.tasks_scanned,
            "resultsOmitted": self.cut,
        });
        let properties = serde_json::to_string_pretty(&properties)
            .expect("plain JSON")
            .replace('\n', "\n      ");
        out.write_all(self.head.as_bytes())?;
        self.results.copy_to(out)?;
        let close = if self.written == 0 { "]" } else { "\n      ]" };
        write!(
            out,
            "{close},\n      \"properties\": {properties}\n    }}\n  ]\n}}\n"
        )
    }
}

/// `tool.driver`: the tool, and the rules that ran with their documentation.
fn driver(rules: &[&'static RuleDoc]) -> Json {
    let mut d = json!({
        "name": env!("CARGO_PKG_NAME"),
        "version": env!("CARGO_PKG_VERSION"),
        "semanticVersion": env!("CARGO_PKG_VERSION"),
    });
    // Cargo.toml's homepage (the package's PyPI page), else its repository.
    let uri = [env!("CARGO_PKG_HOMEPAGE"), env!("CARGO_PKG_REPOSITORY")]
        .into_iter()
        .find(|u| !u.is_empty());
    if let Some(uri) = uri {
        d["informationUri"] = uri.into();
    }
    d["rules"] = rules.iter().map(|r| rule(r)).collect();
    d
}

fn rule(doc: &RuleDoc) -> Json {
    json!({
        "id": doc.kind,
        "shortDescription": {"text": doc.summary},
        "fullDescription": {"text": doc.section("What it does").unwrap_or(doc.summary)},
        "defaultConfiguration": {"level": level(doc.default_severity())},
        "help": {"text": doc.body.trim_end(), "markdown": doc.body.trim_end()},
        "properties": {
            "severities": doc.severities.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
            "configKeys": doc.config_keys,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::board::rows::Listing;
    use crate::py::value::Value;

    fn run() -> RunInfo {
        RunInfo {
            command: "diagnose",
            rules: crate::rules::DOCS.to_vec(),
            checked_at: 1,
            name_boards: false,
        }
    }

    fn report(i: usize) -> TaskReport {
        TaskReport {
            task_id: Value::Text(format!("t_{i}")),
            listing: Some(Listing::default()),
            diagnostics: vec![Diagnostic::new(
                "repeated_failures",
                Severity::Critical,
                format!("finding {i}"),
                "x".repeat(i % 7 * 100),
            )],
        }
    }

    fn render(limits: Limits, n: usize) -> (Json, Vec<String>) {
        let mut sink = Box::new(SarifSink::with_limits(&run(), limits).unwrap());
        let board = BoardLocation::new(std::path::Path::new("b.db"), None);
        sink.begin_board(&board).unwrap();
        for i in 0..n {
            sink.add(&report(i)).unwrap();
        }
        let warnings = sink.warnings();
        let mut out = Vec::new();
        sink.finish(&mut out).unwrap();
        (serde_json::from_slice(&out).unwrap(), warnings)
    }

    #[test]
    fn the_streamed_document_is_the_pretty_document() {
        let mut sink = Box::new(SarifSink::new(&run()).unwrap());
        sink.begin_board(&BoardLocation::new(std::path::Path::new("b.db"), None))
            .unwrap();
        sink.add(&report(1)).unwrap();
        sink.add(&report(2)).unwrap();
        let mut out = Vec::new();
        sink.finish(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let doc: Json = serde_json::from_str(&text).unwrap();
        assert_eq!(text, serde_json::to_string_pretty(&doc).unwrap() + "\n");
        assert_eq!(doc["runs"][0]["results"].as_array().unwrap().len(), 2);
        let (empty, _) = render(Limits::GITHUB, 0);
        assert_eq!(empty["runs"][0]["results"], json!([]));
    }

    #[test]
    fn results_beyond_the_count_limit_are_cut_and_said() {
        let (doc, warnings) = render(
            Limits {
                results: 3,
                gzip_bytes: u64::MAX,
            },
            5,
        );
        let results = doc["runs"][0]["results"].as_array().unwrap();
        assert_eq!(results.len(), 3);
        assert_eq!(
            results[2]["message"]["text"]
                .as_str()
                .unwrap()
                .lines()
                .next(),
            Some("Task t_2: finding 2")
        );
        assert_eq!(doc["runs"][0]["properties"]["resultsOmitted"], 2);
        assert_eq!(warnings.len(), 1);
        assert!(
            warnings[0].contains("first 3 of 5 results (2 left out)"),
            "{}",
            warnings[0]
        );
        assert!(warnings[0].contains("at most 3 results per run"));
    }

    #[test]
    fn results_beyond_the_gzip_limit_are_cut_and_the_document_stays_under_it() {
        let limit = 60_000;
        let (doc, warnings) = render(
            Limits {
                results: usize::MAX,
                gzip_bytes: limit,
            },
            2_000,
        );
        let kept = doc["runs"][0]["results"].as_array().unwrap().len();
        assert!(kept > 0 && kept < 2_000, "{kept}");
        assert!(warnings[0].contains(&format!("at most {limit} bytes of gzipped SARIF")));
        let mut gz = GzEncoder::new(Vec::new(), Compression::default());
        gz.write_all(serde_json::to_string_pretty(&doc).unwrap().as_bytes())
            .unwrap();
        assert!(gz.finish().unwrap().len() as u64 <= limit);
    }

    #[test]
    fn levels_follow_severity() {
        assert_eq!(level(Severity::Critical), "error");
        assert_eq!(level(Severity::Error), "error");
        assert_eq!(level(Severity::Warning), "warning");
    }
}
