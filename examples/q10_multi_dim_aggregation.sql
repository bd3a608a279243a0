-- Spec 4.4 Query 10 (Multi-dimensional Aggregation): request count and
-- average latency per 15-minute tumbling window at four levels at once:
-- (model, region), model, region, and all; rolled-up columns are NULL.
-- Kept as in the spec: window_start appears inside every grouping set,
-- equivalent to Flink's GROUP BY window_start, GROUPING SETS (...).
SELECT
    model_id,
    region,
    window_start,
    COUNT(*) as request_count,
    AVG(latency_ms) as avg_latency
FROM TABLE(
    TUMBLE(TABLE llm_requests, DESCRIPTOR(event_time), INTERVAL '15' MINUTES)
)
GROUP BY GROUPING SETS (
    (model_id, region, window_start),
    (model_id, window_start),
    (region, window_start),
    (window_start)
)
EMIT AFTER WATERMARK;
