//! `seedport pack`: build a delivery package from a factory file, as the portal would.

use super::source::Factory;
use super::{build, choice, PackError, PackageRequest, PgpRecipient, Protection, ZipPassword};
use crate::domain::TokenContext;
use crate::formats::{self, CustomCsvSpec, FormatId, FormatOptions};
use crate::import::{FactoryFile, FactoryInput, TokenOverrides};
use crate::vault::SecretString;
use anyhow::{bail, Context};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// Arguments of `seedport pack`.
#[derive(Debug, clap::Args)]
pub struct PackArgs {
    /// Print every format id with its name and help, then exit.
    #[arg(long)]
    pub list_formats: bool,
    /// A factory token file (Deepnet CSV, hex CSV or plain PSKC).
    #[arg(long, required_unless_present = "list_formats")]
    pub tokens: Option<PathBuf>,
    /// Format id (see --list-formats).
    #[arg(long, required_unless_present = "list_formats")]
    pub format: Option<String>,
    /// File holding the zip password (AES-256); its trailing newline is ignored.
    #[arg(long)]
    pub password_file: Option<PathBuf>,
    /// The recipient's OpenPGP public key (armored or binary).
    #[arg(long)]
    pub pgp_key: Option<PathBuf>,
    /// With --pgp-key and no --password-file: the one seed file itself, OpenPGP-encrypted and
    /// ASCII-armored, no zip (PSKC and custom CSV; privacyIDEA imports it directly).
    #[arg(long, requires = "pgp_key")]
    pub pgp_armored: bool,
    /// pskc-passphrase: file holding the passphrase.
    #[arg(long, conflicts_with = "pskc_key_hex_file")]
    pub pskc_passphrase_file: Option<PathBuf>,
    /// pskc-psk: file holding the 16-byte key as 32 hex characters.
    #[arg(long)]
    pub pskc_key_hex_file: Option<PathBuf>,
    /// custom-csv: the column layout as JSON.
    #[arg(long)]
    pub custom_spec: Option<PathBuf>,
    /// Where to write the package (`NAME.zip`, `NAME.zip.pgp`, or `NAME.xml.asc` with --pgp-armored).
    #[arg(long, required_unless_present = "list_formats")]
    pub out: Option<PathBuf>,
}

/// Runs the command; prints a summary of the package on success.
pub fn run(args: &PackArgs) -> anyhow::Result<()> {
    if args.list_formats {
        let mut stdout = std::io::stdout().lock();
        for f in formats::all() {
            // A closed pipe (`| head`) is not an error worth a message.
            if writeln!(
                stdout,
                "{:<16} {}\n{:<16} {}",
                f.id.as_str(),
                f.name,
                "",
                f.help
            )
            .is_err()
            {
                break;
            }
        }
        return Ok(());
    }
    let (Some(tokens_path), Some(format_id), Some(out)) = (&args.tokens, &args.format, &args.out)
    else {
        bail!("--tokens, --format and --out are required");
    };
    let format = formats::find(format_id)?;
    let protection = protection(args, format.id)?;
    let options = options(args)?;
    let overrides = TokenOverrides::default();
    let file =
        FactoryFile::check(FactoryInput::Path(tokens_path), &overrides).map_err(|problems| {
            let list: Vec<String> = problems
                .iter()
                .map(|p| format!("  {}: {p}", tokens_path.display()))
                .collect();
            anyhow::anyhow!(
                "the token file has problems; nothing was packed:\n{}",
                list.join("\n")
            )
        })?;
    let base = base_name(out);
    let partial = out.with_extension("partial");
    let sink = std::fs::File::create(&partial)
        .with_context(|| format!("cannot create {}", partial.display()))?;
    let request = PackageRequest {
        base_name: &base,
        format,
        options: &options,
        protection: &protection,
        now: crate::clock::Clock::System.now_utc(),
    };
    let mut source = Factory::new(&file, TokenContext::default());
    let result = build(
        BufWriter::with_capacity(256 * 1024, sink),
        &request,
        &mut source,
    );
    let built = match result {
        Ok(b) => b,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(match e {
                PackError::Format(f) => anyhow::anyhow!("{f}"),
                other => other.into(),
            });
        }
    };
    let summary = built.summary;
    std::fs::rename(&partial, out)?;
    let mut stdout = std::io::stdout().lock();
    writeln!(
        stdout,
        "wrote {} ({} bytes, {} tokens, SHA-256 {})",
        out.display(),
        summary.size,
        built.token_count,
        summary.sha256
    )?;
    for e in &summary.entries {
        writeln!(
            stdout,
            "  {}  {} bytes  SHA-256 {}",
            e.name, e.size, e.sha256
        )?;
    }
    Ok(())
}

/// `PO1234.zip.pgp` → `PO1234`.
fn base_name(out: &Path) -> String {
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stem = name.strip_suffix(".pgp").unwrap_or(&name);
    let stem = stem.strip_suffix(".zip").unwrap_or(stem);
    let stem = match stem.strip_suffix(".asc") {
        // `PO1234.xml.asc` → `PO1234`.
        Some(file) => file.rsplit_once('.').map_or(file, |(base, _)| base),
        None => stem,
    };
    super::safe_base(stem)
}

fn read_secret(path: &Path, what: &str) -> anyhow::Result<SecretString> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the {what} file {}", path.display()))?;
    Ok(SecretString::new(
        text.trim_end_matches(['\r', '\n']).to_string(),
    ))
}

fn protection(args: &PackArgs, format: FormatId) -> anyhow::Result<Protection> {
    let password = match &args.password_file {
        Some(p) => Some(ZipPassword::parse(read_secret(p, "password")?)?),
        None => None,
    };
    let recipient = match &args.pgp_key {
        Some(p) => {
            let bytes = std::fs::read(p)
                .with_context(|| format!("cannot read the PGP key {}", p.display()))?;
            Some(PgpRecipient::parse(&bytes)?)
        }
        None => None,
    };
    if args.pgp_armored {
        return Ok(choice::armored(password, recipient, format)?);
    }
    choice::protection(password, recipient).map_err(|_| {
        anyhow::anyhow!("choose how the package is protected: --password-file, --pgp-key, or both")
    })
}

fn options(args: &PackArgs) -> anyhow::Result<FormatOptions> {
    let mut options = FormatOptions::default();
    if let Some(p) = &args.pskc_passphrase_file {
        options.pskc_passphrase =
            Some(choice::pskc_passphrase(read_secret(p, "PSKC passphrase")?)?);
    }
    if let Some(p) = &args.pskc_key_hex_file {
        options.pskc_key = Some(choice::pskc_key_hex(read_secret(p, "PSKC key")?.expose())?);
    }
    if let Some(p) = &args.custom_spec {
        let json = std::fs::read_to_string(p)
            .with_context(|| format!("cannot read the custom spec {}", p.display()))?;
        options.custom_csv = Some(CustomCsvSpec::from_json(&json)?);
    }
    Ok(options)
}
