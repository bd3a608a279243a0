-- Spec 4.8 Query 20 (Multi-Stream Join with Timeout): each request with the
-- error reported for it within 5 seconds and the feedback given within 10
-- minutes (two LEFT interval joins; unmatched sides are NULL once the
-- watermark passes the bound), restricted to requests of the last hour.
-- Kept as in the spec. `req.event_time > CURRENT_TIMESTAMP - INTERVAL '1'
-- HOUR` compares with the clock, so on the wall clock the historical sample
-- data (2025-11-10) gives no row; `sqlc demo` and the golden test pin the
-- clock to the end of the sample (`--now 2025-11-10T13:00:00Z`), which keeps
-- the requests after 12:00.
SELECT
    req.request_id,
    req.model_id,
    req.latency_ms,
    err.error_code,
    err.error_message,
    fb.rating
FROM llm_requests req
LEFT JOIN error_events err
    ON req.request_id = err.request_id
    AND err.event_time BETWEEN req.event_time AND req.event_time + INTERVAL '5' SECONDS
LEFT JOIN user_feedback fb
    ON req.request_id = fb.request_id
    AND fb.event_time BETWEEN req.event_time AND req.event_time + INTERVAL '10' MINUTES
WHERE req.event_time > CURRENT_TIMESTAMP - INTERVAL '1' HOUR;
