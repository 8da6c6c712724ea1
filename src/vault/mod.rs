//! Secrets at rest: the master key wraps per-purpose data keys (envelope encryption); data keys
//! seal token seeds and packages with AES-256-GCM bound to their row.

mod master;
mod seal;
mod secret;
mod token;

pub use master::{KeySource, MasterKey};
pub use seal::{open, random_key, seal, OpenError, Sealer};
pub use secret::{SecretBytes, SecretString};
pub use token::{random_token, token_hash};

use crate::db::schema::data_keys;
use crate::db::{write_tx, DbConnection};
use diesel::prelude::*;

/// What can go wrong reaching a stored secret. Messages never contain secret material.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error("data key {0} does not exist (destroyed or never made)")]
    MissingKey(String),
    #[error(
        "data key {key} is wrapped by master key {stored}, but the loaded master key is {loaded}"
    )]
    WrongMasterKey {
        key: String,
        stored: String,
        loaded: String,
    },
    #[error(transparent)]
    Open(#[from] OpenError),
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
}

/// An unwrapped data key with its id. Sealing binds the ciphertext to `aad`, which callers
/// build from the row it is stored in, so a ciphertext moved to another row fails to open.
#[derive(Debug, Clone)]
pub struct DataKey {
    pub id: String,
    key: SecretBytes,
}

impl DataKey {
    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Vec<u8> {
        seal(&self.key, plaintext, aad)
    }

    pub fn open(&self, sealed: &[u8], aad: &[u8]) -> Result<SecretBytes, OpenError> {
        open(&self.key, sealed, aad)
    }

    /// A sealer for many values under this key (key schedule made once).
    pub fn sealer(&self) -> Sealer {
        Sealer::new(&self.key)
    }

    /// The raw key, for stream ciphers built on it (packages).
    pub fn key(&self) -> &SecretBytes {
        &self.key
    }
}

/// Associated data for a token seed: its row id and serial.
pub fn token_aad(token_id: &str, serial: &str) -> Vec<u8> {
    format!("seedport:token:{token_id}:{serial}").into_bytes()
}

fn wrap_aad(data_key_id: &str) -> Vec<u8> {
    format!("seedport:data-key:{data_key_id}").into_bytes()
}

/// The vault: holds the master key and manages data keys in the `data_keys` table.
#[derive(Clone, Debug)]
pub struct Vault {
    master: MasterKey,
}

impl Vault {
    pub fn new(master: MasterKey) -> Vault {
        Vault { master }
    }

    pub fn master_key_id(&self) -> &str {
        self.master.id()
    }

    /// A MAC of `data` under a key derived from the master key for `purpose` (e.g. proving the
    /// server issued a cookie). Constant-time comparison is the caller's job.
    pub fn mac(&self, purpose: &str, data: &[u8]) -> [u8; 32] {
        use hmac::{Hmac, Mac};
        let derive = |key: &[u8], msg: &[u8]| -> [u8; 32] {
            match <Hmac<sha2::Sha256> as Mac>::new_from_slice(key) {
                Ok(mut m) => {
                    m.update(msg);
                    m.finalize().into_bytes().into()
                }
                // HMAC takes keys of any length; this arm cannot run.
                Err(_) => [0u8; 32],
            }
        };
        let subkey = derive(
            self.master.key().expose(),
            format!("seedport:mac:{purpose}").as_bytes(),
        );
        derive(&subkey, data)
    }

    /// Makes, wraps and stores a fresh data key.
    pub fn new_data_key(
        &self,
        conn: &mut DbConnection,
        purpose: &str,
        now: i64,
    ) -> Result<DataKey, VaultError> {
        let id = uuid::Uuid::new_v4().to_string();
        let key = random_key();
        let wrapped = seal(self.master.key(), key.expose(), &wrap_aad(&id));
        diesel::insert_into(data_keys::table)
            .values((
                data_keys::id.eq(&id),
                data_keys::kek_id.eq(self.master.id()),
                data_keys::wrapped.eq(wrapped),
                data_keys::purpose.eq(purpose),
                data_keys::created_at.eq(now),
            ))
            .execute(conn)?;
        Ok(DataKey { id, key })
    }

    /// Loads and unwraps a stored data key.
    pub fn data_key(&self, conn: &mut DbConnection, id: &str) -> Result<DataKey, VaultError> {
        let row: Option<(String, Vec<u8>)> = data_keys::table
            .find(id)
            .select((data_keys::kek_id, data_keys::wrapped))
            .first(conn)
            .optional()?;
        let (kek_id, wrapped) = row.ok_or_else(|| VaultError::MissingKey(id.to_string()))?;
        if kek_id != self.master.id() {
            return Err(VaultError::WrongMasterKey {
                key: id.to_string(),
                stored: kek_id,
                loaded: self.master.id().to_string(),
            });
        }
        let key = open(self.master.key(), &wrapped, &wrap_aad(id))?;
        Ok(DataKey {
            id: id.to_string(),
            key,
        })
    }

    /// Deletes a data key: everything sealed with it becomes unreadable (crypto-shredding).
    pub fn destroy_data_key(
        conn: &mut DbConnection,
        id: &str,
    ) -> Result<usize, diesel::result::Error> {
        diesel::delete(data_keys::table.find(id)).execute(conn)
    }

    /// Re-wraps every data key under `new_master` in one transaction; returns how many.
    /// Nothing changes if any key fails to unwrap.
    pub fn rotate(
        &self,
        conn: &mut DbConnection,
        new_master: &MasterKey,
    ) -> Result<usize, VaultError> {
        write_tx(conn, |conn| {
            let rows: Vec<(String, String, Vec<u8>)> = data_keys::table
                .select((data_keys::id, data_keys::kek_id, data_keys::wrapped))
                .load(conn)?;
            for (id, kek_id, wrapped) in &rows {
                if kek_id != self.master.id() {
                    return Err(VaultError::WrongMasterKey {
                        key: id.clone(),
                        stored: kek_id.clone(),
                        loaded: self.master.id().to_string(),
                    });
                }
                let key = open(self.master.key(), wrapped, &wrap_aad(id))?;
                let rewrapped = seal(new_master.key(), key.expose(), &wrap_aad(id));
                diesel::update(data_keys::table.find(id))
                    .set((
                        data_keys::kek_id.eq(new_master.id()),
                        data_keys::wrapped.eq(rewrapped),
                    ))
                    .execute(conn)?;
            }
            Ok(rows.len())
        })
    }
}
