use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = kanban_doctor::cli::Cli::parse();
    match kanban_doctor::app::run(cli) {
        Ok(code) => code,
        // A closed pipe (`| head`) is the reader's choice, not a failure.
        Err(kanban_doctor::error::Error::Output(e))
            if e.kind() == std::io::ErrorKind::BrokenPipe =>
        {
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("{:?}", miette::Report::new(err));
            ExitCode::from(2)
        }
    }
}
