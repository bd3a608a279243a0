-- Spec 4.3 Query 6, per-user variant (not in the spec): the same session
-- analytics with sessions built per user (PARTITION BY user_id inside the
-- SESSION TVF), which is what the spec's use case means: a user's session
-- ends after 30 minutes without a request from that user, independently of
-- other users. Same column changes as q06_session_analytics.sql
-- (window_start/window_end aliased to session_start/session_end;
-- duration via TIMESTAMPDIFF, in seconds).
SELECT
    user_id,
    window_start AS session_start,
    window_end AS session_end,
    COUNT(*) as interactions,
    SUM(tokens_used) as total_tokens,
    AVG(latency_ms) as avg_latency,
    TIMESTAMPDIFF(SECOND, window_start, window_end) as session_duration
FROM TABLE(
    SESSION(TABLE llm_requests PARTITION BY user_id, DESCRIPTOR(event_time), INTERVAL '30' MINUTES)
)
GROUP BY user_id, window_start, window_end;
