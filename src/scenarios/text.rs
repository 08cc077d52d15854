//! Human output of `scenarios verify` and `simulate`.

use std::io::{self, Write};

use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};

use crate::report::style::Style;
use crate::scenarios::kernel::Applied;
use crate::scenarios::verify::Check;

pub fn verify(out: &mut impl Write, style: &Style, checks: &[Check]) -> io::Result<()> {
    let mut table = Table::new();
    table
        .load_style(UTF8_FULL_CONDENSED)
        .set_header(["board", "scenario", "check", "expected", "got", "result"]);
    for c in checks {
        let result = if c.pass { "pass" } else { "FAIL" };
        table.add_row([
            crate::escape::line(&c.board).as_ref(),
            &c.subject,
            c.check,
            &c.expected,
            &c.got,
            result,
        ]);
    }
    style.fit_keeping(&mut table, &[0, 5]);
    writeln!(out, "{table}")?;
    let failed = checks.iter().filter(|c| !c.pass).count();
    let line = format!("{} passed, {} failed", checks.len() - failed, failed);
    writeln!(
        out,
        "{}",
        if failed == 0 {
            style.paint("32", &line)
        } else {
            style.paint("1;31", &line)
        }
    )
}

pub fn simulate(
    out: &mut impl Write,
    style: &Style,
    steps: &[(String, Result<Applied, String>)],
    limit_note: &str,
) -> io::Result<()> {
    let mut table = Table::new();
    table.load_style(UTF8_FULL_CONDENSED).set_header([
        "#",
        "outcome",
        "counter",
        "status",
        "events written",
    ]);
    let mut tripped_at = None;
    for (i, (name, applied)) in steps.iter().enumerate() {
        match applied {
            Ok(a) => {
                if a.tripped && tripped_at.is_none() {
                    tripped_at = Some(i + 1);
                }
                table.add_row([
                    (i + 1).to_string(),
                    name.clone(),
                    a.counter.to_string(),
                    a.status.clone(),
                    a.events.join(", "),
                ]);
            }
            Err(status) => {
                table.add_row([
                    (i + 1).to_string(),
                    name.clone(),
                    "-".into(),
                    status.clone(),
                    format!("not run: the dispatcher skips a {status} task"),
                ]);
            }
        }
    }
    style.fit(&mut table);
    writeln!(out, "{table}")?;
    match tripped_at {
        Some(n) => writeln!(
            out,
            "The breaker tripped at outcome {n} ({limit_note}): the task is blocked."
        ),
        None => writeln!(out, "The breaker never tripped ({limit_note})."),
    }
}
