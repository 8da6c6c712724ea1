-- Requests and their lifecycle: wizard drafts, rate limits, requests, packages, outbox,
-- delivery-team accounts and sessions, and the hash-chained audit log.

CREATE TABLE drafts (
    id TEXT PRIMARY KEY NOT NULL,
    session_hash TEXT NOT NULL,
    customer_id TEXT NOT NULL REFERENCES customers(id),
    order_id TEXT NOT NULL REFERENCES orders(id),
    requester_email TEXT NOT NULL,
    client_ip TEXT NOT NULL,
    step TEXT NOT NULL,
    choices TEXT NOT NULL,
    secrets_ct BYTEA,
    data_key_id TEXT,
    request_id TEXT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX drafts_expiry ON drafts(expires_at);

CREATE TABLE rate_limits (
    bucket TEXT PRIMARY KEY NOT NULL,
    window_start BIGINT NOT NULL,
    hits INTEGER NOT NULL
);

CREATE TABLE requests (
    id TEXT PRIMARY KEY NOT NULL,
    reference TEXT NOT NULL UNIQUE,
    draft_id TEXT UNIQUE,
    customer_id TEXT NOT NULL REFERENCES customers(id),
    order_id TEXT NOT NULL REFERENCES orders(id),
    requester_email TEXT NOT NULL,
    client_ip TEXT NOT NULL,
    state TEXT NOT NULL,
    format_id TEXT NOT NULL,
    format_summary TEXT NOT NULL,
    bundling TEXT NOT NULL,
    protection TEXT NOT NULL,
    pgp_fingerprint TEXT,
    pgp_user_ids TEXT,
    password_hash TEXT,
    created_at BIGINT NOT NULL,
    decided_at BIGINT,
    decided_by TEXT,
    reject_reason TEXT
);
CREATE INDEX requests_state ON requests(state, created_at);
CREATE INDEX requests_order ON requests(order_id);

CREATE TABLE request_shipments (
    request_id TEXT NOT NULL REFERENCES requests(id),
    shipment_id TEXT NOT NULL REFERENCES shipments(id),
    proved_serial TEXT NOT NULL,
    PRIMARY KEY (request_id, shipment_id)
);

CREATE TABLE packages (
    id TEXT PRIMARY KEY NOT NULL,
    request_id TEXT NOT NULL REFERENCES requests(id),
    file_name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    token_count BIGINT NOT NULL,
    shipment_numbers TEXT NOT NULL,
    data_key_id TEXT,
    state TEXT NOT NULL,
    download_hash TEXT UNIQUE,
    confirm_hash TEXT UNIQUE,
    downloads INTEGER NOT NULL DEFAULT 0,
    max_downloads INTEGER NOT NULL,
    wrong_passwords INTEGER NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    released_at BIGINT,
    expires_at BIGINT,
    last_download_at BIGINT,
    confirmed_at BIGINT,
    destroyed_at BIGINT
);
CREATE INDEX packages_request ON packages(request_id);
CREATE INDEX packages_state_expiry ON packages(state, expires_at);

CREATE TABLE package_chunks (
    package_id TEXT NOT NULL REFERENCES packages(id),
    seq INTEGER NOT NULL,
    data BYTEA NOT NULL,
    PRIMARY KEY (package_id, seq)
);

CREATE TABLE outbox (
    id TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL,
    to_addr TEXT NOT NULL,
    subject TEXT NOT NULL,
    body_text TEXT NOT NULL,
    body_html TEXT NOT NULL,
    carries_links BOOLEAN NOT NULL,
    request_id TEXT,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    claimed_until BIGINT,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    sent_at BIGINT
);
CREATE INDEX outbox_due ON outbox(state, next_attempt_at);

CREATE TABLE staff (
    id TEXT PRIMARY KEY NOT NULL,
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    totp_ct BYTEA NOT NULL,
    totp_key_id TEXT NOT NULL,
    last_totp_step BIGINT NOT NULL DEFAULT 0,
    failed_logins INTEGER NOT NULL DEFAULT 0,
    locked_until BIGINT,
    disabled BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL
);

CREATE TABLE staff_sessions (
    id_hash TEXT PRIMARY KEY NOT NULL,
    staff_id TEXT NOT NULL REFERENCES staff(id),
    csrf_token TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL
);

CREATE TABLE audit_log (
    seq BIGINT PRIMARY KEY NOT NULL,
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    subject TEXT NOT NULL,
    client_ip TEXT NOT NULL,
    details TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
