-- Spec 4.5 Query 12 (Throughput vs Capacity): per-model requests per second
-- in 1-minute tumbling windows (CTE), joined with model_configs.max_qps,
-- keeping windows above 80% of provisioned capacity (alerting).
-- Kept as in the spec (plain JOIN with the lookup table; sqlc accepts it).
WITH current_load AS (
    SELECT
        model_id,
        COUNT(*) / 60.0 as current_qps
    FROM TABLE(
        TUMBLE(TABLE llm_requests, DESCRIPTOR(event_time), INTERVAL '1' MINUTE)
    )
    GROUP BY model_id, window_start
)
SELECT
    cl.model_id,
    cl.current_qps,
    mc.max_qps,
    (cl.current_qps / mc.max_qps) * 100.0 as capacity_pct
FROM current_load cl
JOIN model_configs mc
ON cl.model_id = mc.model_id
WHERE (cl.current_qps / mc.max_qps) > 0.8;  -- Alert at 80% capacity
