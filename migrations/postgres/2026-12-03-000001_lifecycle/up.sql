-- The typed request lifecycle: one set of states for requests and packages, CHECK-constrained;
-- the download email a package waits on; once-only alert markers; a finite life for every
-- package; the saved PGP key remembers whose it is.

UPDATE packages SET state = CASE
    WHEN state = 'held' THEN 'pending_review'
    WHEN state = 'released' AND downloads > 0 THEN 'downloaded'
    WHEN state = 'released' THEN 'emailed'
    WHEN state = 'destroy_pending' AND confirmed_at IS NOT NULL THEN 'confirmed'
    WHEN state = 'destroy_pending' THEN 'expired'
    ELSE state END;
UPDATE packages SET expires_at = created_at + 14 * 86400 WHERE expires_at IS NULL;

ALTER TABLE requests ADD CONSTRAINT requests_state_check CHECK (state IN ('pending_review', 'approved', 'emailed', 'downloaded', 'confirmed', 'rejected', 'cancelled', 'expired', 'locked', 'failed_delivery'));
ALTER TABLE requests ADD COLUMN review_alerted_at BIGINT;
ALTER TABLE packages ADD CONSTRAINT packages_state_check CHECK (state IN ('pending_review', 'approved', 'emailed', 'downloaded', 'confirmed', 'rejected', 'cancelled', 'expired', 'locked', 'failed_delivery'));
ALTER TABLE packages ADD COLUMN email_id TEXT;
ALTER TABLE packages ADD COLUMN reuse_alerted_at BIGINT;
ALTER TABLE customers ADD COLUMN saved_pgp_email TEXT;
ALTER TABLE requests ADD COLUMN pgp_key TEXT;
CREATE INDEX outbox_request ON outbox(request_id);
ALTER TABLE outbox ADD COLUMN alerted_at BIGINT;
