//! `--db` and `--board`: which board a command reads.
//!
//! They are flags of the commands that read a board ([`BoardArgs`], flattened into each),
//! so the help of `simulate` or `scenarios build` does not offer them. Before the
//! subcommand (`kanban-doctor --db X diagnose`) they are still accepted, as they always
//! were: [`Cli::board_for`] takes them from either place and refuses them in both, and
//! [`Cli::no_board`] refuses them before a command that reads no board rather than ignore
//! them.

use std::path::PathBuf;

use clap::Args;

use super::Cli;
use crate::error::{Error, Result};

#[derive(Debug, Clone, Default, Args)]
pub struct BoardArgs {
    /// The board file (default: resolved like Hermes: HERMES_KANBAN_DB, else the active
    /// board under HERMES_KANBAN_HOME / HERMES_HOME / ~/.hermes).
    #[arg(long, value_name = "PATH")]
    pub db: Option<PathBuf>,

    /// Board slug, when --db is not given (default: HERMES_KANBAN_BOARD, then the current board).
    #[arg(long, value_name = "SLUG")]
    pub board: Option<String>,
}

impl Cli {
    /// The board flags of a command that reads a board: given after the subcommand or
    /// before it, not both.
    pub fn board_for(&self, local: &BoardArgs) -> Result<BoardArgs> {
        Ok(BoardArgs {
            db: pick("--db", self.db.clone(), local.db.clone())?,
            board: pick("--board", self.board.clone(), local.board.clone())?,
        })
    }

    /// Refuse `--db`/`--board` given before a subcommand that reads no board (`what`).
    pub fn no_board(&self, what: &str) -> Result<()> {
        let flag = match (&self.db, &self.board) {
            (Some(_), _) => "--db",
            (None, Some(_)) => "--board",
            (None, None) => return Ok(()),
        };
        Err(Error::Usage {
            message: format!("{flag} names a board, and `{what}` reads none: leave it out"),
        })
    }
}

fn pick<T>(flag: &str, before: Option<T>, after: Option<T>) -> Result<Option<T>> {
    match (before, after) {
        (Some(_), Some(_)) => Err(Error::Usage {
            message: format!("{flag} is given both before and after the subcommand: give it once"),
        }),
        (b, a) => Ok(a.or(b)),
    }
}
