-- Foundation schema. Ids are UUID text, times are UTC Unix seconds (BIGINT), secrets are
-- AES-256-GCM ciphertexts (BLOB) under a data key from data_keys.

CREATE TABLE data_keys (
    id TEXT PRIMARY KEY NOT NULL,
    kek_id TEXT NOT NULL,
    wrapped BLOB NOT NULL,
    purpose TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE customers (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    email_domain TEXT,
    saved_pgp_key TEXT,
    saved_pgp_fingerprint TEXT,
    created_at BIGINT NOT NULL
);

CREATE TABLE customer_emails (
    email TEXT PRIMARY KEY NOT NULL,
    customer_id TEXT NOT NULL REFERENCES customers(id) ON DELETE CASCADE
);
CREATE INDEX customer_emails_customer ON customer_emails(customer_id);

CREATE TABLE orders (
    id TEXT PRIMARY KEY NOT NULL,
    customer_id TEXT NOT NULL REFERENCES customers(id),
    po_number TEXT NOT NULL,
    invoice_number TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);
CREATE INDEX orders_po ON orders(po_number);
CREATE INDEX orders_customer ON orders(customer_id);

CREATE TABLE shipments (
    id TEXT PRIMARY KEY NOT NULL,
    order_id TEXT NOT NULL REFERENCES orders(id),
    shipment_number TEXT NOT NULL UNIQUE,
    ship_date TEXT NOT NULL,
    data_key_id TEXT NOT NULL REFERENCES data_keys(id),
    serial_failures INTEGER NOT NULL DEFAULT 0,
    locked_at BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX shipments_order ON shipments(order_id);

CREATE TABLE tokens (
    id TEXT PRIMARY KEY NOT NULL,
    shipment_id TEXT NOT NULL REFERENCES shipments(id),
    serial TEXT NOT NULL UNIQUE,
    secret_ct BLOB NOT NULL,
    kind TEXT NOT NULL,
    hash TEXT NOT NULL,
    digits INTEGER NOT NULL,
    time_step INTEGER NOT NULL,
    counter BIGINT NOT NULL,
    secret_len INTEGER NOT NULL,
    manufacturer TEXT NOT NULL,
    model TEXT NOT NULL
);
CREATE INDEX tokens_shipment ON tokens(shipment_id, serial);

CREATE TABLE imports (
    id TEXT PRIMARY KEY NOT NULL,
    manifest_sha256 TEXT NOT NULL UNIQUE,
    order_id TEXT NOT NULL REFERENCES orders(id),
    token_count BIGINT NOT NULL,
    imported_at BIGINT NOT NULL
);
