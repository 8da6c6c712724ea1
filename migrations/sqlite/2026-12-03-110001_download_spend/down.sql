ALTER TABLE packages DROP COLUMN download_spent_by;
ALTER TABLE packages DROP COLUMN download_spend;
