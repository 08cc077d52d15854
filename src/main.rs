use std::process::ExitCode;

fn main() -> ExitCode {
    kanban_doctor::app::main(std::env::args_os().collect())
}
