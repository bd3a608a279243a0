-- Spec 2.2 FR-DQL-005 (SESSION window TVF): per-user interactions and tokens
-- per session, sessions closed by 30 minutes of inactivity.
-- Kept exactly as in the spec. Note: without PARTITION BY inside SESSION(...)
-- Flink (and sqlc, which follows Flink and warns at compile time) builds
-- GLOBAL sessions over the whole stream; GROUP BY user_id only splits each
-- global session by user. Per-user sessions, which is what is meant, are
-- SESSION(TABLE llm_requests PARTITION BY user_id, DESCRIPTOR(event_time), ...):
-- see q06b_session_per_user.sql.
SELECT
    user_id,
    window_start,
    window_end,
    COUNT(*) as interactions,
    SUM(tokens_used) as session_tokens
FROM TABLE(
    SESSION(TABLE llm_requests,
            DESCRIPTOR(event_time),
            INTERVAL '30' MINUTES)
)
GROUP BY user_id, window_start, window_end;
