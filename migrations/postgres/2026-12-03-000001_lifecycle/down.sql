ALTER TABLE outbox DROP COLUMN alerted_at;
DROP INDEX outbox_request;
ALTER TABLE customers DROP COLUMN saved_pgp_email;
ALTER TABLE requests DROP COLUMN pgp_key;
ALTER TABLE packages DROP COLUMN reuse_alerted_at;
ALTER TABLE packages DROP COLUMN email_id;
ALTER TABLE packages DROP CONSTRAINT packages_state_check;
UPDATE packages SET state = CASE
    WHEN state = 'pending_review' THEN 'held'
    WHEN state IN ('approved', 'emailed', 'downloaded', 'failed_delivery') THEN 'released'
    WHEN state = 'cancelled' THEN 'expired'
    ELSE state END;
ALTER TABLE requests DROP COLUMN review_alerted_at;
ALTER TABLE requests DROP CONSTRAINT requests_state_check;
UPDATE requests SET state = CASE
    WHEN state IN ('pending_review', 'rejected') THEN state
    ELSE 'approved' END;
