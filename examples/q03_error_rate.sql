-- Spec 4.1 Query 3 (Error Rate Calculation): per-model error count and error
-- percentage in 5-minute tumbling windows, keeping only windows whose error
-- rate exceeds 1% (alerting), updated as events arrive (EMIT CHANGES).
-- Kept as in the spec: HAVING refers to the SELECT alias error_rate_pct,
-- which Flink rejects but sqlc accepts (standard meaning: the expression).
SELECT
    model_id,
    window_start,
    COUNT(*) as total_requests,
    SUM(CASE WHEN error_code IS NOT NULL THEN 1 ELSE 0 END) as error_count,
    SUM(CASE WHEN error_code IS NOT NULL THEN 1 ELSE 0 END) * 100.0 / COUNT(*) as error_rate_pct
FROM TABLE(
    TUMBLE(TABLE llm_requests, DESCRIPTOR(event_time), INTERVAL '5' MINUTES)
)
GROUP BY model_id, window_start
HAVING error_rate_pct > 1.0  -- Alert if error rate > 1%
EMIT CHANGES;
