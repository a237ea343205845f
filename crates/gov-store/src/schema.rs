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
        seq -> BigInt,
        row_hash -> Nullable<Text>,
    }
}

diesel::table! {
    audit_checkpoints (tenant_id, n) {
        tenant_id -> Text,
        n -> BigInt,
        from_seq -> BigInt,
        to_seq -> BigInt,
        row_count -> BigInt,
        rows_digest -> Text,
        prev_hash -> Text,
        checkpoint_hash -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    policy_rules (policy_id) {
        policy_id -> Text,
        tenant_id -> Text,
        name -> Text,
        rule_type -> Text,
        condition -> Nullable<Text>,
        action -> Text,
        threshold -> Nullable<Double>,
        status -> Text,
        priority -> Integer,
        scope_type -> Text,
        version -> Integer,
        spec -> Text,
        violation_count -> BigInt,
        incident_count -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    policy_rule_versions (policy_id, version) {
        policy_id -> Text,
        version -> Integer,
        tenant_id -> Text,
        spec -> Text,
        limits -> Text,
        created_at -> Timestamp,
        created_by -> Text,
    }
}

diesel::table! {
    policy_limits (limit_id) {
        limit_id -> Text,
        tenant_id -> Text,
        policy_id -> Text,
        limit_type -> Text,
        value -> Double,
        window_seconds -> Nullable<BigInt>,
        scope -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    policy_controls (tenant_id) {
        tenant_id -> Text,
        enforcement_mode -> Text,
        conflict_strategy -> Text,
        near_threshold_pct -> Double,
        updated_at -> Timestamp,
        updated_by -> Text,
    }
}

diesel::table! {
    policy_snapshots (snapshot_id) {
        snapshot_id -> Text,
        tenant_id -> Text,
        policies_json -> Text,
        thresholds_json -> Text,
        content_hash -> Text,
        policy_count -> Integer,
        created_at -> Timestamp,
    }
}

diesel::table! {
    runs (run_id) {
        run_id -> Text,
        tenant_id -> Text,
        agent_id -> Text,
        goal -> Nullable<Text>,
        human_actor_id -> Nullable<Text>,
        api_key_id -> Nullable<Text>,
        status -> Text,
        started_at -> Timestamp,
        completed_at -> Nullable<Timestamp>,
        tokens_used -> BigInt,
        input_tokens -> BigInt,
        output_tokens -> BigInt,
        total_cost_cents -> Double,
        step_count -> BigInt,
        policy_snapshot_id -> Text,
        policy_snapshot_hash -> Text,
        termination_reason -> Nullable<Text>,
        stopped_at_step -> Nullable<BigInt>,
        violation_policy_id -> Nullable<Text>,
        incident_id -> Nullable<Text>,
        trace_id -> Text,
        head_hash -> Text,
        override_count -> Integer,
        metadata -> Text,
        domain -> Nullable<Text>,
        final_cost_cents -> Nullable<Double>,
    }
}

diesel::table! {
    agent_kills (tenant_id, agent_id) {
        tenant_id -> Text,
        agent_id -> Text,
        run_id -> Text,
        policy_id -> Nullable<Text>,
        reason -> Text,
        killed_at -> Timestamp,
    }
}

diesel::table! {
    incidents (incident_id) {
        incident_id -> Text,
        tenant_id -> Text,
        source_run_id -> Nullable<Text>,
        policy_id -> Nullable<Text>,
        trace_id -> Nullable<Text>,
        severity -> Text,
        status -> Text,
        #[sql_name = "type"]
        incident_type -> Text,
        title -> Text,
        description -> Text,
        step_index -> Nullable<BigInt>,
        escalation_level -> Integer,
        created_at -> Timestamp,
        acknowledged_at -> Nullable<Timestamp>,
        escalated_at -> Nullable<Timestamp>,
        resolved_at -> Nullable<Timestamp>,
        resolution -> Nullable<Text>,
    }
}

diesel::table! {
    incident_comments (comment_id) {
        comment_id -> Text,
        incident_id -> Text,
        tenant_id -> Text,
        author -> Text,
        content -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    incident_events (event_id) {
        event_id -> Text,
        incident_id -> Text,
        tenant_id -> Text,
        event -> Text,
        actor -> Text,
        detail -> Text,
        timestamp -> Timestamp,
    }
}

diesel::table! {
    aos_traces (trace_id) {
        trace_id -> Text,
        run_id -> Text,
        tenant_id -> Text,
        status -> Text,
        step_count -> BigInt,
        is_synthetic -> Bool,
        agent_id -> Text,
        started_at -> Timestamp,
        completed_at -> Nullable<Timestamp>,
        violation_step_index -> Nullable<BigInt>,
        violation_timestamp -> Nullable<Timestamp>,
        violation_policy_id -> Nullable<Text>,
        violation_reason -> Nullable<Text>,
        incident_id -> Nullable<Text>,
        head_hash -> Text,
    }
}

diesel::table! {
    aos_trace_steps (step_id) {
        step_id -> Text,
        trace_id -> Text,
        run_id -> Text,
        tenant_id -> Text,
        step_index -> BigInt,
        step_type -> Text,
        level -> Text,
        source -> Text,
        timestamp -> Timestamp,
        tokens -> BigInt,
        input_tokens -> BigInt,
        output_tokens -> BigInt,
        cost_cents -> Double,
        duration_ms -> BigInt,
        model -> Nullable<Text>,
        retrieved_documents -> BigInt,
        content_hash -> Nullable<Text>,
        decision -> Text,
        decision_policy_id -> Nullable<Text>,
        decision_reason -> Nullable<Text>,
        prev_hash -> Text,
        chain_hash -> Text,
    }
}

diesel::table! {
    prevention_records (record_id) {
        record_id -> Text,
        tenant_id -> Text,
        run_id -> Text,
        policy_id -> Nullable<Text>,
        incident_id -> Nullable<Text>,
        step_index -> BigInt,
        action -> Text,
        decision -> Text,
        violation_type -> Text,
        metric -> Text,
        current_value -> Nullable<Double>,
        limit_value -> Nullable<Double>,
        enforced -> Bool,
        reason -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    threshold_signals (signal_id) {
        signal_id -> Text,
        tenant_id -> Text,
        run_id -> Text,
        policy_id -> Text,
        check_id -> Text,
        signal_type -> Text,
        metric -> Text,
        value -> Double,
        limit_value -> Nullable<Double>,
        percentage -> Nullable<Double>,
        step_index -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    policy_override_records (override_id) {
        override_id -> Text,
        tenant_id -> Text,
        run_id -> Text,
        policy_id -> Text,
        kind -> Text,
        new_limit -> Nullable<Double>,
        actor -> Text,
        reason -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    rate_counters (tenant_id, counter_key, window_start) {
        tenant_id -> Text,
        counter_key -> Text,
        window_start -> BigInt,
        count -> BigInt,
    }
}

diesel::table! {
    cost_records (cost_record_id) {
        cost_record_id -> Text,
        tenant_id -> Text,
        run_id -> Text,
        model -> Text,
        input_tokens -> BigInt,
        output_tokens -> BigInt,
        tokens -> BigInt,
        cost_cents -> Double,
        step_count -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    go_live_state (id) {
        id -> Text,
        tenant_id -> Text,
        go_live_enabled -> Bool,
        kill_switch_engaged -> Bool,
        changed_by -> Text,
        reason -> Text,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    risk_policy (id) {
        id -> Text,
        tenant_id -> Text,
        engine -> Text,
        max_daily_loss -> Nullable<Double>,
        max_daily_exposure -> Nullable<Double>,
        max_open_risk -> Nullable<Double>,
        max_actions_per_day -> Nullable<BigInt>,
        enabled -> Bool,
        changed_by -> Text,
        reason -> Text,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    risk_ledger_day (id) {
        id -> Text,
        tenant_id -> Text,
        day -> Date,
        engine -> Text,
        exposure_used -> Double,
        open_risk_reserved -> Double,
        realized_loss -> Double,
        actions_count -> BigInt,
    }
}

diesel::table! {
    risk_event (id) {
        id -> Text,
        tenant_id -> Text,
        engine -> Text,
        action -> Text,
        amount -> Double,
        ok -> Bool,
        reason -> Text,
        actor -> Text,
        correlation_id -> Text,
        metadata_json -> Text,
        created_at -> Timestamp,
        /// Held to the one-decision-per-correlation-id index (false only for rows recorded
        /// before migration 000005).
        one_decision -> Bool,
    }
}

diesel::table! {
    heimdall_policy (id) {
        id -> Text,
        tenant_id -> Text,
        domain -> Text,
        min_confidence_prod -> Double,
        min_sandbox_trials -> BigInt,
        min_sandbox_success_rate -> Double,
        prod_use_enabled -> Bool,
        changed_by -> Text,
        reason -> Text,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    heimdall_scorecard_day (id) {
        id -> Text,
        tenant_id -> Text,
        day -> Date,
        domain -> Text,
        trials -> BigInt,
        successes -> BigInt,
        success_rate -> Double,
        avg_confidence -> Double,
    }
}

diesel::table! {
    heimdall_recommendation (id) {
        id -> Text,
        tenant_id -> Text,
        domain -> Text,
        confidence -> Double,
        recommendation_json -> Text,
        evidence_json -> Text,
        prod_eligible -> Bool,
        gate_reason -> Text,
        actor -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    heimdall_event (id) {
        id -> Text,
        tenant_id -> Text,
        domain -> Text,
        event -> Text,
        ok -> Bool,
        confidence -> Nullable<Double>,
        recommendation_id -> Nullable<Text>,
        actor -> Text,
        detail -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    kpi_event (id) {
        id -> Text,
        tenant_id -> Text,
        domain -> Text,
        metric -> Text,
        success -> Bool,
        value -> Nullable<Double>,
        actor -> Text,
        correlation_id -> Nullable<Text>,
        detail -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    regression_policy (id) {
        id -> Text,
        tenant_id -> Text,
        domain -> Text,
        metric -> Text,
        window_events -> BigInt,
        baseline_events -> BigInt,
        min_events_to_enforce -> BigInt,
        max_drop_fraction -> Double,
        action -> Text,
        enabled -> Bool,
        changed_by -> Text,
        reason -> Text,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    regression_state (id) {
        id -> Text,
        tenant_id -> Text,
        domain -> Text,
        metric -> Text,
        triggered -> Bool,
        baseline -> Nullable<Double>,
        current -> Nullable<Double>,
        drop_fraction -> Nullable<Double>,
        last_checked_at -> Nullable<Timestamp>,
        last_triggered_at -> Nullable<Timestamp>,
        note -> Text,
        incident_id -> Nullable<Text>,
        counting_since -> Nullable<Timestamp>,
    }
}

diesel::table! {
    signing_keys (key_id) {
        key_id -> Text,
        public_key -> Text,
        private_key -> Nullable<Text>,
        source -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    evidence_exports (export_id) {
        export_id -> Text,
        tenant_id -> Text,
        kind -> Text,
        format -> Text,
        incident_id -> Nullable<Text>,
        run_id -> Nullable<Text>,
        bundle_id -> Text,
        bundle_hash -> Text,
        key_id -> Text,
        content_type -> Text,
        size_bytes -> BigInt,
        created_by -> Text,
        created_at -> Timestamp,
        reason -> Nullable<Text>,
        artifact -> Nullable<Binary>,
        document -> Binary,
    }
}

diesel::table! {
    system_logs (log_id) {
        log_id -> Text,
        tenant_id -> Nullable<Text>,
        level -> Text,
        source -> Text,
        event -> Text,
        message -> Text,
        timestamp -> Timestamp,
        context -> Text,
    }
}

diesel::table! {
    postmortems (postmortem_id) {
        postmortem_id -> Text,
        tenant_id -> Text,
        incident_id -> Text,
        root_cause -> Text,
        timeline -> Text,
        lessons_learned -> Text,
        author -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    policy_proposals (proposal_id) {
        proposal_id -> Text,
        tenant_id -> Text,
        policy_id -> Nullable<Text>,
        base_version -> Nullable<Integer>,
        proposed_rule -> Text,
        rationale -> Nullable<Text>,
        status -> Text,
        proposer_id -> Text,
        reviewer_id -> Nullable<Text>,
        review_note -> Nullable<Text>,
        resulting_policy_id -> Nullable<Text>,
        resulting_version -> Nullable<Integer>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        reviewed_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    trace_verifications (tenant_id, trace_id) {
        tenant_id -> Text,
        trace_id -> Text,
        verified_through_step -> BigInt,
        head_hash -> Text,
        verified_at -> Timestamp,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    tenants,
    users,
    api_keys,
    audit_logs,
    audit_checkpoints,
    policy_rules,
    policy_rule_versions,
    policy_limits,
    policy_controls,
    policy_snapshots,
    runs,
    agent_kills,
    incidents,
    incident_comments,
    incident_events,
    aos_traces,
    aos_trace_steps,
    prevention_records,
    threshold_signals,
    policy_override_records,
    rate_counters,
    cost_records,
    go_live_state,
    risk_policy,
    risk_ledger_day,
    risk_event,
    heimdall_policy,
    heimdall_scorecard_day,
    heimdall_recommendation,
    heimdall_event,
    kpi_event,
    regression_policy,
    regression_state,
    signing_keys,
    evidence_exports,
    system_logs,
    postmortems,
    policy_proposals,
    trace_verifications,
);
