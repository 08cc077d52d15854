use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = kanban_doctor::cli::Cli::parse();
    match kanban_doctor::app::run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("{:?}", miette::Report::new(err));
            ExitCode::from(2)
        }
    }
}
