//! `completions` and `man`: shell completion scripts and man pages, generated from the
//! same clap definition that parses the command line ([`Cli::command`]), so they can never
//! offer a flag that does not exist.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use clap::{Args, CommandFactory};

use super::Cli;

pub use clap_complete::Shell;

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write kanban-doctor.1 and one page per subcommand (kanban-doctor-diagnose.1, …)
    /// into this directory instead of printing the main page.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// The binary's name, as completions and man pages call it.
const NAME: &str = "kanban-doctor";

/// Write the completion script for `shell`.
pub fn completions(shell: Shell, out: &mut dyn Write) {
    clap_complete::generate(shell, &mut Cli::command(), NAME, out);
}

/// Write the man page of the whole command line: every subcommand is listed under
/// SUBCOMMANDS with its summary.
pub fn man(out: &mut dyn Write) -> io::Result<()> {
    clap_mangen::Man::new(Cli::command()).render(out)
}

/// Write `kanban-doctor.1` and a page per subcommand, nested ones included
/// (`kanban-doctor-scenarios-build.1`), into `dir` (made if missing); return what was written, in order.
/// Each page is written to a temporary file in `dir` and renamed over its name, so a page
/// is either the old one or the whole new one.
pub fn man_pages(dir: &Path) -> Result<Vec<PathBuf>, (PathBuf, io::Error)> {
    std::fs::create_dir_all(dir).map_err(|e| (dir.to_path_buf(), e))?;
    let mut cmd = Cli::command();
    cmd.build();
    let mut written = Vec::new();
    write_pages(&cmd, NAME, dir, &mut written)?;
    Ok(written)
}

fn write_pages(
    cmd: &clap::Command,
    name: &str,
    dir: &Path,
    written: &mut Vec<PathBuf>,
) -> Result<(), (PathBuf, io::Error)> {
    let path = dir.join(format!("{name}.1"));
    let page = cmd.clone().name(name.to_string());
    let mut buf = Vec::new();
    clap_mangen::Man::new(page)
        .render(&mut buf)
        .map_err(|e| (path.clone(), e))?;
    let write = || -> io::Result<()> {
        let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
        tmp.write_all(&buf)?;
        tmp.persist(&path).map_err(|e| e.error)?;
        Ok(())
    };
    write().map_err(|e| (path.clone(), e))?;
    written.push(path);
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        if sub.get_name() == "help" {
            continue;
        }
        write_pages(sub, &format!("{name}-{}", sub.get_name()), dir, written)?;
    }
    Ok(())
}
