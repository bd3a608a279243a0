-- Spec 4.4 Query 8 (Moving Average for Smoothing): for each request, the
-- model's average latency over its last 100 requests (ROWS frame) and over
-- the last 5 minutes of event time (RANGE frame).
-- Kept as in the spec. Flink rejects two different OVER frames in one SELECT
-- (each of the two alone is accepted); sqlc computes both.
SELECT
    model_id,
    event_time,
    latency_ms,
    AVG(latency_ms) OVER (
        PARTITION BY model_id
        ORDER BY event_time
        ROWS BETWEEN 99 PRECEDING AND CURRENT ROW
    ) as moving_avg_100,
    AVG(latency_ms) OVER (
        PARTITION BY model_id
        ORDER BY event_time
        RANGE BETWEEN INTERVAL '5' MINUTES PRECEDING AND CURRENT ROW
    ) as time_based_avg
FROM llm_requests;
