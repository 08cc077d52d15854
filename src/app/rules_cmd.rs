//! `kanban-doctor rules [KIND] [--json]`: every rule, diagnose's and audit's, or one rule's
//! documentation. `diagnose --list-rules/--explain` and `audit --list-rules/--explain` print
//! the same documentation, one command's rules at a time.

use std::io::Write;
use std::process::ExitCode;

use crate::cli::RulesArgs;
use crate::error::{Error, Result};
use crate::report::{rules_text, style::Style};
use crate::rules;

pub fn run(args: &RulesArgs, style: &Style) -> Result<ExitCode> {
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    match &args.kind {
        Some(kind) => {
            let (runner, doc) = rules::find(kind).expect("clap accepts only registered kinds");
            if args.json {
                writeln!(out, "{}", rules_text::one_json(runner, doc))
            } else {
                rules_text::one(&mut out, runner, doc)
            }
        }
        None => {
            let all: Vec<_> = rules::catalog().collect();
            if args.json {
                writeln!(out, "{}", rules_text::list_json(&all))
            } else {
                rules_text::list(&mut out, style, &all)
            }
        }
    }
    .and_then(|()| out.flush())
    .map_err(Error::Output)?;
    Ok(ExitCode::SUCCESS)
}
