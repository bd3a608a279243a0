-- Spec 4.6 Query 13 (A/B Test Analysis): per experiment variant and 1-hour
-- event-time window, request count, average latency and cost, and the
-- percentage of requests rated 4 or 5 (requests joined with their feedback).
-- Changed from the spec: TUMBLE(event_time, ...) -> TUMBLE(r.event_time, ...).
-- Both llm_requests and user_feedback have an event_time column, so the
-- unqualified name is ambiguous (an error in Flink and in sqlc).
-- Kept from the spec: legacy group-window syntax GROUP BY ...,
-- TUMBLE(col, INTERVAL ...), with window_start in the SELECT list. Flink has
-- no window_start column in legacy group windows (it would spell it
-- TUMBLE_START(r.event_time, INTERVAL '1' HOUR) AS window_start); sqlc
-- exposes window_start/window_end for them. (In Flink, `variant` must also
-- be quoted: it is a reserved word there.)
-- How it runs: the regular LEFT JOIN emits a request at once with a NULL
-- rating, then, when its feedback arrives, takes that row back (-D) and emits
-- the joined row (+I); the window applies both while it is open. Feedback
-- that arrives after its request's window fired is late (counted, and written
-- with --late-events). Flink rejects this window (a regular join loses the
-- time attribute); sqlc keeps r.event_time. The watermark is the lower of
-- both streams'. State: every request and feedback row, kept for ever unless
-- the tables set 'state.ttl'.
SELECT
    experiment_id,
    variant,
    window_start,
    COUNT(*) as requests,
    AVG(latency_ms) as avg_latency,
    AVG(cost) as avg_cost,
    SUM(CASE WHEN rating >= 4 THEN 1 ELSE 0 END) * 100.0 / COUNT(*) as satisfaction_rate
FROM llm_requests r
LEFT JOIN user_feedback f ON r.request_id = f.request_id
WHERE experiment_id IS NOT NULL
GROUP BY experiment_id, variant, TUMBLE(r.event_time, INTERVAL '1' HOUR);
