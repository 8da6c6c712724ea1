ALTER TABLE outbox DROP COLUMN alerted_at;
DROP INDEX outbox_request;
ALTER TABLE customers DROP COLUMN saved_pgp_email;
ALTER TABLE requests DROP COLUMN pgp_key;
ALTER TABLE packages DROP COLUMN reuse_alerted_at;
ALTER TABLE packages DROP COLUMN email_id;
DROP INDEX packages_state_expiry;
ALTER TABLE packages ADD COLUMN old_state TEXT NOT NULL DEFAULT 'held';
UPDATE packages SET old_state = CASE
    WHEN state = 'pending_review' THEN 'held'
    WHEN state IN ('approved', 'emailed', 'downloaded', 'failed_delivery') THEN 'released'
    WHEN state = 'cancelled' THEN 'expired'
    ELSE state END;
ALTER TABLE packages DROP COLUMN state;
ALTER TABLE packages RENAME COLUMN old_state TO state;
CREATE INDEX packages_state_expiry ON packages(state, expires_at);
ALTER TABLE requests DROP COLUMN review_alerted_at;
DROP INDEX requests_state;
ALTER TABLE requests ADD COLUMN old_state TEXT NOT NULL DEFAULT 'pending_review';
UPDATE requests SET old_state = CASE
    WHEN state IN ('pending_review', 'rejected') THEN state
    ELSE 'approved' END;
ALTER TABLE requests DROP COLUMN state;
ALTER TABLE requests RENAME COLUMN old_state TO state;
CREATE INDEX requests_state ON requests(state, created_at);
