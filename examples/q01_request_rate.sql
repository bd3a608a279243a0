-- Spec 4.1 Query 1 (Real-time Request Rate by Model): requests per model in
-- 1-minute tumbling event-time windows, with the average rate per second;
-- EMIT CHANGES emits the updated row as each window's count changes.
SELECT
    model_id,
    window_start,
    window_end,
    COUNT(*) as request_count,
    COUNT(*) / 60.0 as requests_per_second
FROM TABLE(
    TUMBLE(TABLE llm_requests, DESCRIPTOR(event_time), INTERVAL '1' MINUTE)
)
GROUP BY model_id, window_start, window_end
EMIT CHANGES;
