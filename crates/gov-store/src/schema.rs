//! Table definitions shared by both backends. Column types are the portable subset diesel maps
//! on SQLite and PostgreSQL alike: ids are UUID text, times are UTC `Timestamp`, JSON is text.

diesel::table! {
    tenants (tenant_id) {
        tenant_id -> Text,
        name -> Text,
        plan -> Text,
        created_at -> Timestamp,
        settings -> Text,
    }
}

diesel::table! {
    users (user_id) {
        user_id -> Text,
        tenant_id -> Text,
        email -> Text,
        name -> Text,
        roles -> Text,
        created_at -> Timestamp,
        last_login -> Nullable<Timestamp>,
    }
}

diesel::table! {
    api_keys (key_id) {
        key_id -> Text,
        tenant_id -> Text,
        name -> Text,
        key_hash -> Text,
        prefix -> Text,
        scopes -> Text,
        created_at -> Timestamp,
        expires_at -> Nullable<Timestamp>,
        last_used_at -> Nullable<Timestamp>,
        revoked -> Bool,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    audit_logs (log_id) {
        log_id -> Text,
        tenant_id -> Text,
        actor_id -> Text,
        action -> Text,
        resource_type -> Text,
        resource_id -> Text,
        timestamp -> Timestamp,
        details -> Text,
    }
}

diesel::allow_tables_to_appear_in_same_query!(tenants, users, api_keys, audit_logs);
