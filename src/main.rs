// Minimal wiring of `seedport assign` for the assign branch only; the real main.rs/app.rs
// (written on main) replaces this file and mounts `seedport::assign::{AssignArgs, run, configure}`.
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "seedport")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Assign tokens to users for Microsoft Entra ID.
    Assign(seedport::assign::AssignArgs),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Assign(args) => seedport::assign::run(args),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
