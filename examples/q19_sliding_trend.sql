-- Spec 4.8 Query 19 (Sliding Window Trend Analysis): per model, average
-- latency and count in 10-minute windows sliding every minute, with the
-- previous window's average (LAG) and a trend label: INCREASING (> +20%),
-- DECREASING (< -20%) or STABLE. A model's first window has no previous
-- value, so its trend is 'STABLE'.
SELECT
    model_id,
    window_start,
    window_end,
    AVG(latency_ms) as avg_latency,
    COUNT(*) as request_count,
    LAG(AVG(latency_ms), 1) OVER (PARTITION BY model_id ORDER BY window_start) as prev_avg_latency,
    CASE
        WHEN AVG(latency_ms) > LAG(AVG(latency_ms), 1) OVER (PARTITION BY model_id ORDER BY window_start) * 1.2
        THEN 'INCREASING'
        WHEN AVG(latency_ms) < LAG(AVG(latency_ms), 1) OVER (PARTITION BY model_id ORDER BY window_start) * 0.8
        THEN 'DECREASING'
        ELSE 'STABLE'
    END as trend
FROM TABLE(
    HOP(TABLE llm_requests,
        DESCRIPTOR(event_time),
        INTERVAL '1' MINUTE,
        INTERVAL '10' MINUTES)
)
GROUP BY model_id, window_start, window_end;
