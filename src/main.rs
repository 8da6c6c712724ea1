//! The `seedport` command line: serve the portal, migrate, import factory files, assign tokens,
//! rotate keys, check a deployment (`doctor`) and back up the database.

use anyhow::Context;
use clap::{Parser, Subcommand};
use seedport::config::Config;
use seedport::import::{ImportError, ImportInput, ImportOutcome};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "seedport",
    version,
    about = "Deliver OATH token seed files to the customers who bought the tokens"
)]
struct Cli {
    /// Configuration file (default: ./seedport.toml when it exists).
    #[arg(long, global = true, env = "SEEDPORT_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the portal (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Import a manifest with its factory token files (all or nothing).
    Import {
        /// The TOML manifest naming customer, order and shipments.
        manifest: PathBuf,
    },
    /// Delivery-team accounts.
    Staff {
        #[command(subcommand)]
        action: StaffCommand,
    },
    /// The audit log.
    Audit {
        #[command(subcommand)]
        action: AuditCommand,
    },
    /// Assign tokens to users and export the Entra ID upload and an inventory.
    Assign(seedport::assign::AssignArgs),
    /// Build a delivery package from a factory file, exactly as the portal does.
    Pack(seedport::pipeline::cli::PackArgs),
    /// Check the configuration, database, master key, SMTP and public URL; exits non-zero on
    /// any problem, saying how to fix it.
    Doctor,
    /// A consistent online copy of the SQLite database (never includes the master key).
    Backup {
        /// The file to write; must not exist yet.
        #[arg(long)]
        out: PathBuf,
    },
    /// API keys for the order API (`/api/v1`).
    ApiKey {
        #[command(subcommand)]
        action: ApiKeyCommand,
    },
    /// Master key operations.
    Keys {
        #[command(subcommand)]
        action: KeysCommand,
    },
}

#[derive(Subcommand)]
enum ApiKeyCommand {
    /// Create a key; prints it (and its webhook secret) once.
    Create {
        #[arg(long)]
        name: String,
        /// Comma-separated: orders:write, requests:read.
        #[arg(long)]
        scope: String,
        /// Where request events are POSTed, signed with the secret printed once.
        #[arg(long)]
        webhook_url: Option<String>,
    },
    /// List keys: name, scopes, created, last used, revoked (never the key).
    List,
    /// Revoke a key: calls with it get 401 from now on.
    Revoke { name: String },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Re-wrap every data key under a new master key, in one transaction.
    Rotate {
        /// Where to write the new key (mode 0600); default: the configured key file, whose old
        /// content is kept as `<file>.old` until you delete it.
        #[arg(long)]
        new_key_file: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum StaffCommand {
    /// Create an account; prints its password (unless given) and TOTP enrolment once.
    Add {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// reviewer or admin.
        #[arg(long, value_parser = ["reviewer", "admin"])]
        role: String,
        /// Read the password from this file's first line instead of generating one.
        #[arg(long)]
        password_file: Option<PathBuf>,
    },
    /// List accounts with role and status.
    List,
    /// Disable an account and end its sessions.
    Disable {
        #[arg(long)]
        email: String,
    },
    /// Set a new password (generated unless given), clear the lockout, end sessions.
    ResetPassword {
        #[arg(long)]
        email: String,
        #[arg(long)]
        password_file: Option<PathBuf>,
    },
    /// Issue a new TOTP secret and print its enrolment once.
    ResetTotp {
        #[arg(long)]
        email: String,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Check the hash chain; exits non-zero naming the first broken row.
    Verify,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    use seedport::telemetry::logging::{self, LogFormat};
    // The assignment tool and `pack` work on files and need no configuration; they log in the
    // format the environment asks for.
    if matches!(cli.command, Some(Command::Assign(_) | Command::Pack(_))) {
        let format = std::env::var("SEEDPORT_LOG_FORMAT")
            .ok()
            .and_then(|f| f.parse::<LogFormat>().ok())
            .unwrap_or_default();
        logging::init(format);
    }
    if let Some(Command::Doctor) = &cli.command {
        return seedport::ops::doctor::run(cli.config.as_deref());
    }
    if let Some(Command::Assign(args)) = &cli.command {
        seedport::assign::run(args)?;
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(Command::Pack(args)) = &cli.command {
        seedport::pipeline::cli::run(args)?;
        return Ok(ExitCode::SUCCESS);
    }
    let config = Config::load(cli.config.as_deref())?;
    logging::init(config.log_format);
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            actix_web::rt::System::new().block_on(seedport::app::serve(config))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate => {
            seedport::app::open_database(&config)?;
            println!("database is up to date");
            Ok(ExitCode::SUCCESS)
        }
        Command::Import { manifest } => import(&config, &manifest),
        Command::Staff { action } => staff(&config, action),
        Command::ApiKey { action } => api_key(&config, action),
        Command::Audit {
            action: AuditCommand::Verify,
        } => {
            let db = seedport::app::open_database(&config)?;
            let mut conn = db.get()?;
            seedport::staff::cli::audit_verify(&mut conn)
        }
        Command::Keys {
            action: KeysCommand::Rotate { new_key_file },
        } => rotate(&config, new_key_file),
        Command::Backup { out } => {
            let db = seedport::app::open_database(&config)?;
            let mut conn = db.get()?;
            let written = seedport::ops::backup::run(&mut conn, &out)?;
            println!("{written}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Assign(_) | Command::Pack(_) | Command::Doctor => Ok(ExitCode::SUCCESS),
    }
}

fn staff(config: &Config, action: StaffCommand) -> anyhow::Result<ExitCode> {
    use seedport::staff::cli;
    let db = seedport::app::open_database(config)?;
    let mut conn = db.get()?;
    // Accounts made or reset on a demo database could never sign in to production.
    if matches!(
        action,
        StaffCommand::Add { .. }
            | StaffCommand::ResetPassword { .. }
            | StaffCommand::ResetTotp { .. }
    ) {
        seedport::app::refuse_demo_database(config, &mut conn)?;
    }
    let now = seedport::clock::Clock::System.now();
    let password = |file: Option<PathBuf>| file.map(|f| cli::read_password_file(&f)).transpose();
    match action {
        StaffCommand::Add {
            email,
            name,
            role,
            password_file,
        } => {
            let vault = seedport::vault::Vault::new(seedport::app::load_master_key(config)?);
            let role = seedport::staff::Role::parse(&role)
                .ok_or_else(|| anyhow::anyhow!("the role must be reviewer or admin"))?;
            let args = cli::AddArgs {
                email,
                name,
                role,
                password: password(password_file)?,
            };
            cli::add(&mut conn, &vault, config, args, now)
        }
        StaffCommand::List => cli::list(&mut conn, now),
        StaffCommand::Disable { email } => cli::disable(&mut conn, &email),
        StaffCommand::ResetPassword {
            email,
            password_file,
        } => cli::reset_password(&mut conn, &email, password(password_file)?),
        StaffCommand::ResetTotp { email } => {
            let vault = seedport::vault::Vault::new(seedport::app::load_master_key(config)?);
            cli::reset_totp(&mut conn, &vault, config, &email, now)
        }
    }
}

fn api_key(config: &Config, action: ApiKeyCommand) -> anyhow::Result<ExitCode> {
    use seedport::api_keys::cli;
    let db = seedport::app::open_database(config)?;
    let mut conn = db.get()?;
    let now = seedport::clock::Clock::System.now();
    match action {
        ApiKeyCommand::Create {
            name,
            scope,
            webhook_url,
        } => {
            let vault = seedport::vault::Vault::new(seedport::app::load_master_key(config)?);
            cli::create(
                &mut conn,
                &vault,
                &name,
                &scope,
                webhook_url.as_deref(),
                now,
            )
        }
        ApiKeyCommand::List => cli::list(&mut conn),
        ApiKeyCommand::Revoke { name } => cli::revoke(&mut conn, &name, now),
    }
}

fn import(config: &Config, manifest: &std::path::Path) -> anyhow::Result<ExitCode> {
    let input = ImportInput::from_path(manifest)?;
    let master = seedport::app::load_master_key(config)?;
    let db = seedport::app::open_database(config)?;
    let vault = seedport::vault::Vault::new(master);
    let mut total = 0u64;
    for (name, file) in &input.files {
        total += file
            .lines()
            .with_context(|| format!("cannot read the token file {name}"))?;
    }
    let bar = indicatif::ProgressBar::new(total.max(1));
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} importing [{bar:40}] {pos}/{len} tokens ({per_sec}, {eta})",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let mut conn = db.get()?;
    seedport::app::refuse_demo_database(config, &mut conn)?;
    let started = std::time::Instant::now();
    let now = seedport::clock::Clock::System.now();
    let outcome =
        seedport::import::run(&mut conn, &vault, &input, now, &mut |n| bar.set_position(n));
    bar.finish_and_clear();
    match outcome {
        Ok(ImportOutcome::Imported {
            shipments, tokens, ..
        }) => {
            println!(
                "imported order {} (PO {}): {shipments} shipment(s), {tokens} token(s) in {:.2?}",
                input.manifest.order.invoice,
                input.manifest.order.po,
                started.elapsed()
            );
            Ok(ExitCode::SUCCESS)
        }
        Ok(ImportOutcome::AlreadyImported { .. }) => {
            println!("this manifest was already imported; nothing changed");
            Ok(ExitCode::SUCCESS)
        }
        Err(ImportError::Invalid(problems)) => {
            eprintln!("nothing was imported; fix these problems and run the import again:");
            for p in &problems {
                eprintln!("  {p}");
            }
            Ok(ExitCode::from(2))
        }
        Err(e) => Err(e.into()),
    }
}

fn rotate(config: &Config, new_key_file: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let master = seedport::app::load_master_key(config)?;
    let db = seedport::app::open_database(config)?;
    let vault = seedport::vault::Vault::new(master);
    let new_master = seedport::vault::MasterKey::generate();
    let current = config.master_key_path();
    let target = new_key_file
        .clone()
        .unwrap_or_else(|| current.with_extension("new"));
    new_master
        .write_new_file(&target)
        .context("writing the new master key")?;
    let mut conn = db.get()?;
    let count = vault.rotate(&mut conn, &new_master)?;
    if new_key_file.is_none() && std::env::var_os("SEEDPORT_MASTER_KEY").is_none() {
        std::fs::rename(&current, current.with_extension("old"))?;
        std::fs::rename(&target, &current)?;
        println!(
            "re-wrapped {count} data key(s); {} now holds the new key, the old one is in {} (delete it once backups are rotated)",
            current.display(),
            current.with_extension("old").display()
        );
    } else {
        println!(
            "re-wrapped {count} data key(s) under the new master key written to {}; point SEEDPORT_MASTER_KEY or master_key_file at it now",
            target.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}
