-- The download spend in flight: its id (a give-back names it, so a spend taken over by the same
-- browser's second press is never given back) and the browser that made it (a hash of the link
-- pages' cookie), for re-serving a double press without spending a second download.
ALTER TABLE packages ADD COLUMN download_spend TEXT;
ALTER TABLE packages ADD COLUMN download_spent_by TEXT;
