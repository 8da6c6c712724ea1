-- API keys for the vendor's systems (the order API under /api/v1). The key itself is shown once
-- and stored only as its SHA-256; the optional webhook secret is sealed with a vault data key.
CREATE TABLE api_keys (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL UNIQUE,
    key_hash TEXT NOT NULL UNIQUE,
    scopes TEXT NOT NULL,
    webhook_url TEXT,
    webhook_secret_ct BYTEA,
    webhook_key_id TEXT REFERENCES data_keys(id),
    created_at BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at BIGINT
);
-- A webhook is an outbox row (kind 'webhook') addressed to one key's URL.
ALTER TABLE outbox ADD COLUMN api_key_id TEXT;
