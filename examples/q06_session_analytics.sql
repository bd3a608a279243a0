-- Spec 4.3 Query 6 (Session Analytics): per-user interactions, tokens,
-- average latency and duration of sessions closed by 30 minutes of
-- inactivity.
-- Changed from the spec (which is invalid as written):
--  * The spec groups by and selects session_start / session_end, but the
--    SESSION TVF produces window_start / window_end (as in Flink). They are
--    selected as `window_start AS session_start`, `window_end AS
--    session_end`, and the GROUP BY uses window_start, window_end.
--  * `session_end - session_start` subtracts two TIMESTAMPs, which Flink
--    rejects; session_duration is TIMESTAMPDIFF(SECOND, window_start,
--    window_end), in seconds (window_end = last event + 30 min gap).
-- Kept from the spec: SESSION without PARTITION BY. Flink (and sqlc, which
-- warns at compile time) then builds GLOBAL sessions over the whole stream,
-- and GROUP BY user_id only splits each global session by user. The per-user
-- sessions the use case means are in q06b_session_per_user.sql.
SELECT
    user_id,
    window_start AS session_start,
    window_end AS session_end,
    COUNT(*) as interactions,
    SUM(tokens_used) as total_tokens,
    AVG(latency_ms) as avg_latency,
    TIMESTAMPDIFF(SECOND, window_start, window_end) as session_duration
FROM TABLE(
    SESSION(TABLE llm_requests, DESCRIPTOR(event_time), INTERVAL '30' MINUTES)
)
GROUP BY user_id, window_start, window_end;
