//! The master key (key-encryption key): from `SEEDPORT_MASTER_KEY` or a 0600 key file.

use super::{seal, SecretBytes};
use anyhow::{bail, Context};
use base64::Engine;
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::Path;

/// The key that wraps every data key. Its id (a hash prefix) is stored beside each wrapped key
/// so a wrong master key is reported as such.
#[derive(Clone, Debug)]
pub struct MasterKey {
    key: SecretBytes,
    id: String,
}

/// Where a master key came from, for the start-up message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    Environment,
    File(std::path::PathBuf),
    Generated(std::path::PathBuf),
}

impl MasterKey {
    pub fn from_bytes(key: SecretBytes) -> anyhow::Result<MasterKey> {
        if key.len() != 32 {
            bail!(
                "the master key must be 32 bytes (base64 of 32 random bytes); it has {}",
                key.len()
            );
        }
        let digest = Sha256::new()
            .chain_update(b"seedport master key id")
            .chain_update(key.expose())
            .finalize();
        Ok(MasterKey {
            id: hex::encode(digest.get(..8).unwrap_or_default()),
            key,
        })
    }

    /// Parses base64 text (a key file's content or the environment variable).
    pub fn from_base64(text: &str) -> anyhow::Result<MasterKey> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .map_err(|_| anyhow::anyhow!("the master key is not valid base64"))?;
        MasterKey::from_bytes(SecretBytes::new(bytes))
    }

    pub fn generate() -> MasterKey {
        let key = seal::random_key();
        match MasterKey::from_bytes(key) {
            Ok(k) => k,
            Err(_) => unreachable!("random_key makes 32 bytes"),
        }
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub(crate) fn key(&self) -> &SecretBytes {
        &self.key
    }

    pub fn to_base64(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(self.key.expose())
    }

    /// Loads the key: the environment first, then the file. When neither exists and
    /// `create_if_missing` (demo mode), a new key is written to `path` with mode 0600.
    pub fn load(
        env_value: Option<&str>,
        path: &Path,
        create_if_missing: bool,
    ) -> anyhow::Result<(MasterKey, KeySource)> {
        if let Some(text) = env_value {
            return Ok((
                MasterKey::from_base64(text).context("SEEDPORT_MASTER_KEY")?,
                KeySource::Environment,
            ));
        }
        if path.exists() {
            check_permissions(path)?;
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the master key file {}", path.display()))?;
            let key = MasterKey::from_base64(&text)
                .with_context(|| format!("master key file {}", path.display()))?;
            return Ok((key, KeySource::File(path.to_path_buf())));
        }
        if !create_if_missing {
            bail!(
                "no master key: set SEEDPORT_MASTER_KEY (base64 of 32 random bytes) or create the key file {} with mode 0600",
                path.display()
            );
        }
        let key = MasterKey::generate();
        key.write_new_file(path)?;
        Ok((key, KeySource::Generated(path.to_path_buf())))
    }

    /// Writes the key to a file that must not exist yet, readable by the owner only.
    pub fn write_new_file(&self, path: &Path) -> anyhow::Result<()> {
        if let Some(parent) = path.parent() {
            if !parent.as_os_str().is_empty() {
                std::fs::create_dir_all(parent)?;
            }
        }
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options
            .open(path)
            .with_context(|| format!("cannot create the master key file {}", path.display()))?;
        writeln!(file, "{}", self.to_base64())?;
        file.sync_all()?;
        Ok(())
    }
}

/// A key file readable by group or others is refused: the key protects every seed.
fn check_permissions(path: &Path) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)?.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            bail!(
                "the master key file {} has mode {:o}; it must be 0600 or stricter (run: chmod 600 {})",
                path.display(),
                mode,
                path.display()
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads_from_env_file_and_refuses_loose_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        assert!(MasterKey::load(None, &path, false).is_err());
        let (generated, source) = MasterKey::load(None, &path, true).unwrap();
        assert_eq!(source, KeySource::Generated(path.clone()));
        let (again, _) = MasterKey::load(None, &path, false).unwrap();
        assert_eq!(generated.id(), again.id());
        let (from_env, _) = MasterKey::load(
            Some(&generated.to_base64()),
            &dir.path().join("none"),
            false,
        )
        .unwrap();
        assert_eq!(from_env.id(), generated.id());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            let err = MasterKey::load(None, &path, false).unwrap_err();
            assert!(format!("{err:#}").contains("chmod 600"), "{err:#}");
        }
        assert!(MasterKey::from_base64("c2hvcnQ=").is_err());
        assert!(!format!("{generated:?}").contains(&generated.to_base64()));
    }
}
