-- Each shipment's tokens grouped by shape (everything but the serial and the seed), with how
-- many tokens each group holds and its first serials. Written with the tokens
-- (request::summary::refresh), so the pages that show a shipment's token count and models, or
-- check which formats can carry its tokens, read a few rows instead of every token.
CREATE TABLE shipment_token_groups (
    shipment_id TEXT NOT NULL REFERENCES shipments(id),
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL,
    hash TEXT NOT NULL,
    digits INTEGER NOT NULL,
    time_step INTEGER NOT NULL,
    counter BIGINT NOT NULL,
    secret_len INTEGER NOT NULL,
    manufacturer TEXT NOT NULL,
    model TEXT NOT NULL,
    token_count BIGINT NOT NULL,
    -- The group's first serials (at most 5, as many as a format error names), in serial
    -- order, separated by spaces (a serial holds only letters, digits and '-').
    first_serials TEXT NOT NULL,
    PRIMARY KEY (shipment_id, seq)
);

-- Groups of the tokens already stored; seq follows each group's first serial. Serials are
-- ordered byte by byte ("C"), as the application orders them.
INSERT INTO shipment_token_groups (shipment_id, seq, kind, hash, digits, time_step, counter,
    secret_len, manufacturer, model, token_count, first_serials)
SELECT shipment_id, row_number() OVER (PARTITION BY shipment_id ORDER BY first_serial) - 1,
    kind, hash, digits, time_step, counter, secret_len, manufacturer, model, token_count,
    first_serials
FROM (
    SELECT shipment_id, kind, hash, digits, time_step, counter, secret_len, manufacturer, model,
        count(*) AS token_count, min(serial COLLATE "C") AS first_serial,
        string_agg(serial, ' ' ORDER BY serial COLLATE "C") FILTER (WHERE n <= 5) AS first_serials
    FROM (
        SELECT shipment_id, serial, kind, hash, digits, time_step, counter, secret_len,
            manufacturer, model,
            row_number() OVER (PARTITION BY shipment_id, kind, hash, digits, time_step, counter,
                secret_len, manufacturer, model ORDER BY serial COLLATE "C") AS n
        FROM tokens
    ) AS ranked
    GROUP BY shipment_id, kind, hash, digits, time_step, counter, secret_len, manufacturer, model
) AS grouped;

-- Serial proof compares the typed serial without dashes, upper case: indexed, so a proof
-- looks up one entry instead of scanning the shipment's tokens.
CREATE INDEX tokens_serial_compact ON tokens (shipment_id, upper(replace(serial, '-', '')));
