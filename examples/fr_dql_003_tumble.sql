-- Spec 2.2 FR-DQL-003 (TUMBLE window TVF): per-model request count and
-- average latency in 5-minute tumbling event-time windows.
SELECT
    model_id,
    window_start,
    window_end,
    COUNT(*) as request_count,
    AVG(latency_ms) as avg_latency
FROM TABLE(
    TUMBLE(TABLE llm_requests, DESCRIPTOR(event_time), INTERVAL '5' MINUTES)
)
GROUP BY model_id, window_start, window_end;
