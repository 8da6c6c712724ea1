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
        saved_pgp_email -> Nullable<Text>,
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
    /// Each shipment's tokens grouped by shape, written with the tokens
    /// (`request::summary::refresh`); `first_serials` is space-separated, in serial order.
    shipment_token_groups (shipment_id, seq) {
        shipment_id -> Text,
        seq -> Integer,
        kind -> Text,
        hash -> Text,
        digits -> Integer,
        time_step -> Integer,
        counter -> BigInt,
        secret_len -> Integer,
        manufacturer -> Text,
        model -> Text,
        token_count -> BigInt,
        first_serials -> Text,
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
diesel::joinable!(shipment_token_groups -> shipments (shipment_id));
diesel::joinable!(imports -> orders (order_id));

diesel::table! {
    drafts (id) {
        id -> Text,
        session_hash -> Text,
        customer_id -> Text,
        order_id -> Text,
        requester_email -> Text,
        client_ip -> Text,
        step -> Text,
        choices -> Text,
        secrets_ct -> Nullable<Binary>,
        data_key_id -> Nullable<Text>,
        request_id -> Nullable<Text>,
        created_at -> BigInt,
        expires_at -> BigInt,
    }
}

diesel::table! {
    rate_limits (bucket) {
        bucket -> Text,
        window_start -> BigInt,
        hits -> Integer,
    }
}

diesel::table! {
    requests (id) {
        id -> Text,
        reference -> Text,
        draft_id -> Nullable<Text>,
        customer_id -> Text,
        order_id -> Text,
        requester_email -> Text,
        client_ip -> Text,
        state -> Text,
        format_id -> Text,
        format_summary -> Text,
        bundling -> Text,
        protection -> Text,
        pgp_fingerprint -> Nullable<Text>,
        pgp_user_ids -> Nullable<Text>,
        password_hash -> Nullable<Text>,
        created_at -> BigInt,
        decided_at -> Nullable<BigInt>,
        decided_by -> Nullable<Text>,
        reject_reason -> Nullable<Text>,
        review_alerted_at -> Nullable<BigInt>,
        pgp_key -> Nullable<Text>,
    }
}

diesel::table! {
    request_shipments (request_id, shipment_id) {
        request_id -> Text,
        shipment_id -> Text,
        proved_serial -> Text,
    }
}

diesel::table! {
    packages (id) {
        id -> Text,
        request_id -> Text,
        file_name -> Text,
        content_type -> Text,
        size -> BigInt,
        sha256 -> Text,
        token_count -> BigInt,
        shipment_numbers -> Text,
        data_key_id -> Nullable<Text>,
        state -> Text,
        download_hash -> Nullable<Text>,
        confirm_hash -> Nullable<Text>,
        downloads -> Integer,
        max_downloads -> Integer,
        wrong_passwords -> Integer,
        created_at -> BigInt,
        released_at -> Nullable<BigInt>,
        expires_at -> Nullable<BigInt>,
        last_download_at -> Nullable<BigInt>,
        confirmed_at -> Nullable<BigInt>,
        destroyed_at -> Nullable<BigInt>,
        email_id -> Nullable<Text>,
        reuse_alerted_at -> Nullable<BigInt>,
        download_spend -> Nullable<Text>,
        download_spent_by -> Nullable<Text>,
    }
}

diesel::table! {
    package_chunks (package_id, seq) {
        package_id -> Text,
        seq -> Integer,
        data -> Binary,
    }
}

diesel::table! {
    outbox (id) {
        id -> Text,
        kind -> Text,
        to_addr -> Text,
        subject -> Text,
        body_text -> Text,
        body_html -> Text,
        carries_links -> Bool,
        request_id -> Nullable<Text>,
        state -> Text,
        attempts -> Integer,
        next_attempt_at -> BigInt,
        claimed_until -> Nullable<BigInt>,
        claimed_by -> Nullable<Text>,
        last_error -> Nullable<Text>,
        created_at -> BigInt,
        sent_at -> Nullable<BigInt>,
        alerted_at -> Nullable<BigInt>,
        api_key_id -> Nullable<Text>,
    }
}

diesel::table! {
    staff (id) {
        id -> Text,
        email -> Text,
        name -> Text,
        role -> Text,
        password_hash -> Text,
        totp_ct -> Binary,
        totp_key_id -> Text,
        last_totp_step -> BigInt,
        failed_logins -> Integer,
        locked_until -> Nullable<BigInt>,
        disabled -> Bool,
        created_at -> BigInt,
    }
}

diesel::table! {
    staff_sessions (id_hash) {
        id_hash -> Text,
        staff_id -> Text,
        csrf_token -> Text,
        created_at -> BigInt,
        last_seen_at -> BigInt,
    }
}

diesel::table! {
    audit_log (seq) {
        seq -> BigInt,
        at -> BigInt,
        actor -> Text,
        action -> Text,
        subject -> Text,
        client_ip -> Text,
        details -> Text,
        prev_hash -> Text,
        hash -> Text,
    }
}

diesel::joinable!(drafts -> orders (order_id));
diesel::joinable!(requests -> orders (order_id));
diesel::joinable!(requests -> customers (customer_id));
diesel::joinable!(request_shipments -> requests (request_id));
diesel::joinable!(request_shipments -> shipments (shipment_id));
diesel::joinable!(packages -> requests (request_id));
diesel::joinable!(package_chunks -> packages (package_id));
diesel::joinable!(staff_sessions -> staff (staff_id));

diesel::allow_tables_to_appear_in_same_query!(
    data_keys,
    customers,
    customer_emails,
    imports,
    orders,
    shipments,
    tokens,
    shipment_token_groups,
    drafts,
    rate_limits,
    requests,
    request_shipments,
    packages,
    package_chunks,
    outbox,
    staff,
    staff_sessions,
    audit_log,
);

diesel::table! {
    database_marks (mark) {
        mark -> Text,
        set_at -> BigInt,
    }
}

diesel::table! {
    api_keys (id) {
        id -> Text,
        name -> Text,
        key_hash -> Text,
        scopes -> Text,
        webhook_url -> Nullable<Text>,
        webhook_secret_ct -> Nullable<Binary>,
        webhook_key_id -> Nullable<Text>,
        created_at -> BigInt,
        last_used_at -> Nullable<BigInt>,
        revoked_at -> Nullable<BigInt>,
    }
}

diesel::allow_tables_to_appear_in_same_query!(api_keys, outbox);
