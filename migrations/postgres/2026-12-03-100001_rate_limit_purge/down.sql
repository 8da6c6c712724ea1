DROP INDEX rate_limits_window_start;
