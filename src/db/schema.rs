//! Diesel table definitions, shared by the SQLite and PostgreSQL backends.

diesel::table! {
    data_keys (id) {
        id -> Text,
        kek_id -> Text,
        wrapped -> Binary,
        purpose -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    customers (id) {
        id -> Text,
        name -> Text,
        email_domain -> Nullable<Text>,
        saved_pgp_key -> Nullable<Text>,
        saved_pgp_fingerprint -> Nullable<Text>,
        created_at -> BigInt,
    }
}

diesel::table! {
    customer_emails (email) {
        email -> Text,
        customer_id -> Text,
    }
}

diesel::table! {
    orders (id) {
        id -> Text,
        customer_id -> Text,
        po_number -> Text,
        invoice_number -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    shipments (id) {
        id -> Text,
        order_id -> Text,
        shipment_number -> Text,
        ship_date -> Text,
        data_key_id -> Text,
        serial_failures -> Integer,
        locked_at -> Nullable<BigInt>,
        created_at -> BigInt,
    }
}

diesel::table! {
    tokens (id) {
        id -> Text,
        shipment_id -> Text,
        serial -> Text,
        secret_ct -> Binary,
        kind -> Text,
        hash -> Text,
        digits -> Integer,
        time_step -> Integer,
        counter -> BigInt,
        secret_len -> Integer,
        manufacturer -> Text,
        model -> Text,
    }
}

diesel::table! {
    imports (id) {
        id -> Text,
        manifest_sha256 -> Text,
        order_id -> Text,
        token_count -> BigInt,
        imported_at -> BigInt,
    }
}

diesel::joinable!(customer_emails -> customers (customer_id));
diesel::joinable!(orders -> customers (customer_id));
diesel::joinable!(shipments -> orders (order_id));
diesel::joinable!(tokens -> shipments (shipment_id));
diesel::joinable!(imports -> orders (order_id));

diesel::allow_tables_to_appear_in_same_query!(
    data_keys,
    customers,
    customer_emails,
    orders,
    shipments,
    tokens,
    imports,
);
