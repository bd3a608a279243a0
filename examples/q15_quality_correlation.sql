-- Spec 4.7 Query 15 (Response Quality Correlation): per model and 1-hour
-- event-time window, average latency, average rating and the Pearson
-- correlation between latency and rating, over requests joined with their
-- feedback.
-- Changed from the spec: `INTERVAL '1' HOUR'` had a stray closing quote
-- (a syntax error); it is `INTERVAL '1' HOUR`.
-- Kept from the spec: legacy group-window syntax with window_start in the
-- SELECT list (Flink has no such column there and would need
-- TUMBLE_START(r.event_time, INTERVAL '1' HOUR) AS window_start), and CORR
-- (not a Flink built-in; sqlc provides it).
SELECT
    model_id,
    window_start,
    AVG(latency_ms) as avg_latency,
    AVG(CAST(rating AS DOUBLE)) as avg_rating,
    CORR(latency_ms, CAST(rating AS DOUBLE)) as latency_rating_correlation
FROM llm_requests r
JOIN user_feedback f ON r.request_id = f.request_id
GROUP BY model_id, TUMBLE(r.event_time, INTERVAL '1' HOUR);
