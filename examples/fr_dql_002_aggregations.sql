-- Spec 2.2 FR-DQL-002 (aggregations): running per-model count, average and
-- p95 latency and total cost over the whole stream.
-- Non-windowed GROUP BY: the result is an updating (changelog) table, as in
-- Flink; every new event updates its model's row.
-- PERCENTILE_CONT(p) WITHIN GROUP (ORDER BY x) is the spec's (SQL standard)
-- form; Flink 2.x spells it PERCENTILE(x, p).
SELECT
    model_id,
    COUNT(*) as request_count,
    AVG(latency_ms) as avg_latency,
    PERCENTILE_CONT(0.95) WITHIN GROUP (ORDER BY latency_ms) as p95_latency,
    SUM(cost) as total_cost
FROM llm_requests
GROUP BY model_id;
