DROP INDEX tokens_serial_compact;
DROP TABLE shipment_token_groups;
