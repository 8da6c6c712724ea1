DROP TABLE imports;
DROP TABLE tokens;
DROP TABLE shipments;
DROP TABLE orders;
DROP TABLE customer_emails;
DROP TABLE customers;
DROP TABLE data_keys;
