//! Color, only where it helps and is wanted: on a terminal, unless `NO_COLOR` is set and
//! non-empty or `TERM=dumb`; `--color always|never` overrides. Decided apiece for stdout
//! (reports) and stderr (errors and warnings), since either may be a terminal alone.
//!
//! And width: a table is fitted to `COLUMNS` when it is set to a number, else to the
//! terminal when stdout is one; written to a pipe or a file it keeps its natural width,
//! one row a line, for `grep`.

use std::io::IsTerminal;

use comfy_table::{ContentArrangement, Table};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ColorChoice {
    #[default]
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Style {
    pub color: bool,
    /// The width tables must fit, if any.
    pub width: Option<u16>,
}

/// The narrowest width a table is fitted to: below it, wrapping makes a table unreadable
/// anyway.
const MIN_WIDTH: u16 = 40;

impl Style {
    pub fn for_stdout(choice: ColorChoice) -> Style {
        let stdout = std::io::stdout();
        let width = columns().or_else(|| {
            stdout
                .is_terminal()
                .then(terminal_size::terminal_size)
                .flatten()
                .map(|(w, _)| w.0)
        });
        Style {
            color: wants_color(choice, stdout.is_terminal()),
            width: width.map(|w| w.max(MIN_WIDTH)),
        }
    }

    /// For errors and warnings on stderr: color only, nothing there is a table.
    pub fn for_stderr(choice: ColorChoice) -> Style {
        Style {
            color: wants_color(choice, std::io::stderr().is_terminal()),
            width: None,
        }
    }

    /// Fit `table` to the width, wrapping cells where they must; unchanged without one.
    pub fn fit(&self, table: &mut Table) {
        self.fit_keeping(table, &[]);
    }

    /// [`Style::fit`], never wrapping the columns at the indexes `whole` (short words).
    pub fn fit_keeping(&self, table: &mut Table, whole: &[usize]) {
        if let Some(w) = self.width {
            // `Dynamic`, not `DynamicFullWidth`: a table that fits keeps its natural width.
            table
                .set_width(w)
                .set_content_arrangement(ContentArrangement::Dynamic);
            for i in whole {
                if let Some(c) = table.column_mut(*i) {
                    c.set_constraint(comfy_table::ColumnConstraint::ContentWidth);
                }
            }
        }
    }

    pub fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    pub fn bold(&self, text: &str) -> String {
        self.paint("1", text)
    }

    pub fn dim(&self, text: &str) -> String {
        self.paint("2", text)
    }
}

fn wants_color(choice: ColorChoice, terminal: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            terminal
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::env::var("TERM").map_or(true, |t| t != "dumb")
        }
    }
}

/// `COLUMNS`, when it holds a positive number.
fn columns() -> Option<u16> {
    std::env::var("COLUMNS")
        .ok()?
        .trim()
        .parse()
        .ok()
        .filter(|w| *w > 0)
}
