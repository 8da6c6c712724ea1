-- Each email claimed by one sender (a random id per running sender), so only that sender renews, records or releases the claim.
ALTER TABLE outbox ADD COLUMN claimed_by TEXT;
