//! `scenarios verify --junit FILE`: the checks as a JUnit XML report, one test case per
//! check, so any CI (GitHub Actions, GitLab, Jenkins) lists them.
//!
//! The shape is the common subset of the JUnit schemas CI tools read (the Ant/Jenkins
//! `junit-4.xsd` and Maven Surefire's): `<testsuites>` with `<testsuite>` per board, each
//! `<testcase classname name time>` holding a `<failure message type>` when it failed;
//! counts on every suite and on the root. Text from a board is made safe for XML: markup
//! characters are entities, and characters XML 1.0 cannot carry (most C0 controls) are
//! shown as `\xNN` escapes.

use std::fmt::Write as _;

use super::verify::Check;

/// XML text or attribute content.
fn xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            '\t' => out.push_str("&#9;"),
            '\r' => out.push_str("&#13;"),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// The report for `checks`, grouped by board in the order boards first appear.
pub fn render(checks: &[Check]) -> String {
    let mut boards: Vec<&str> = Vec::new();
    for c in checks {
        if !boards.contains(&c.board.as_str()) {
            boards.push(&c.board);
        }
    }
    let failures = checks.iter().filter(|c| !c.pass).count();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"kanban-doctor scenarios verify\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" time=\"0\">",
        checks.len()
    );
    for board in boards {
        let cases: Vec<&Check> = checks.iter().filter(|c| c.board == board).collect();
        let failed = cases.iter().filter(|c| !c.pass).count();
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failed}\" errors=\"0\" skipped=\"0\" time=\"0\">",
            xml(board),
            cases.len()
        );
        for c in cases {
            let _ = write!(
                out,
                "    <testcase classname=\"{}\" name=\"{}\" time=\"0\"",
                xml(&format!("{}.{}", board, c.subject)),
                xml(c.check)
            );
            if c.pass {
                out.push_str("/>\n");
            } else {
                let _ = writeln!(
                    out,
                    ">\n      <failure message=\"{}\" type=\"mismatch\">expected: {}\ngot: {}</failure>\n    </testcase>",
                    xml(&format!("expected {}, got {}", c.expected, c.got)),
                    xml(&c.expected),
                    xml(&c.got)
                );
            }
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(subject: &str, pass: bool, got: &str) -> Check {
        Check {
            board: "board.db".into(),
            subject: subject.into(),
            check: "status",
            expected: "blocked".into(),
            got: got.into(),
            pass,
        }
    }

    #[test]
    fn one_testcase_per_check_with_failures_counted() {
        let x = render(&[check("a", true, "blocked"), check("b", false, "ready")]);
        assert!(x.contains(
            r#"<testsuites name="kanban-doctor scenarios verify" tests="2" failures="1""#
        ));
        assert!(x.contains(r#"<testcase classname="board.db.a" name="status" time="0"/>"#));
        assert!(x.contains(r#"<failure message="expected blocked, got ready" type="mismatch">"#));
    }

    #[test]
    fn board_text_cannot_break_the_xml() {
        let x = render(&[check("<a&\"b\">", false, "x\u{1}\u{1b}]0;y\n")]);
        assert!(x.contains("classname=\"board.db.&lt;a&amp;&quot;b&quot;&gt;\""));
        assert!(x.contains("x\\x01\\x1b]0;y&#10;"));
        assert!(!x.chars().any(|c| (c as u32) < 0x20 && c != '\n'));
    }
}
