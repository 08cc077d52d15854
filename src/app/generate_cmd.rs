//! `kanban-doctor completions SHELL` and `kanban-doctor man [--out DIR]`.

use std::io::Write;
use std::process::ExitCode;

use crate::cli::{CompletionsArgs, ManArgs, generate};
use crate::error::{Error, Result};

pub fn completions(args: &CompletionsArgs) -> Result<ExitCode> {
    // clap_complete writes straight to its writer and cannot report a failure: write into
    // memory, then to stdout, so that a full disk or a closed pipe is seen.
    let mut script = Vec::new();
    generate::completions(args.shell, &mut script);
    let mut out = std::io::stdout().lock();
    out.write_all(&script)
        .and_then(|()| out.flush())
        .map_err(Error::Output)?;
    Ok(ExitCode::SUCCESS)
}

pub fn man(args: &ManArgs) -> Result<ExitCode> {
    let Some(dir) = &args.out else {
        let mut page = Vec::new();
        generate::man(&mut page).map_err(Error::Output)?;
        let mut out = std::io::stdout().lock();
        out.write_all(&page)
            .and_then(|()| out.flush())
            .map_err(Error::Output)?;
        return Ok(ExitCode::SUCCESS);
    };
    let written =
        generate::man_pages(dir).map_err(|(path, source)| Error::Write { path, source })?;
    let mut out = std::io::stdout().lock();
    for p in written {
        writeln!(out, "wrote {}", crate::escape::path(&p)).map_err(Error::Output)?;
    }
    Ok(ExitCode::SUCCESS)
}
