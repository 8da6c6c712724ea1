-- Purging expired rate-limit buckets deletes by window start.
CREATE INDEX rate_limits_window_start ON rate_limits (window_start);
