//! Where the customer guides live: the addresses the web routes serve and the emails link to,
//! kept outside `web` so that `mail` names them without importing the web layer.

/// The guide to creating and using a PGP key (Kleopatra/Gpg4win or gpg).
pub const PGP_KEY: &str = "/guides/pgp-key";
/// The guide to uploading and activating the tokens in Microsoft Entra ID.
pub const ENTRA: &str = "/guides/entra";
