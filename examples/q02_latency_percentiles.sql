-- Spec 4.1 Query 2 (P95 and P99 Latency Tracking): per-model average,
-- p50/p95/p99 and max latency in 5-minute tumbling windows, emitted once per
-- window when the watermark passes its end.
-- PERCENTILE_CONT ... WITHIN GROUP and EMIT are spec forms (Flink 2.x:
-- PERCENTILE(latency_ms, 0.95); Flink always emits windows this way).
SELECT
    model_id,
    window_start,
    AVG(latency_ms) as avg_latency,
    PERCENTILE_CONT(0.50) WITHIN GROUP (ORDER BY latency_ms) as p50_latency,
    PERCENTILE_CONT(0.95) WITHIN GROUP (ORDER BY latency_ms) as p95_latency,
    PERCENTILE_CONT(0.99) WITHIN GROUP (ORDER BY latency_ms) as p99_latency,
    MAX(latency_ms) as max_latency
FROM TABLE(
    TUMBLE(TABLE llm_requests, DESCRIPTOR(event_time), INTERVAL '5' MINUTES)
)
GROUP BY model_id, window_start
EMIT AFTER WATERMARK;
