-- Spec 4.2 Query 4 (Cost per Model per Hour): per-model total cost, total
-- tokens and average cost per request in 1-hour tumbling windows, emitted
-- once per window after the watermark passes its end.
SELECT
    model_id,
    window_start,
    SUM(cost) as total_cost,
    SUM(tokens_used) as total_tokens,
    AVG(cost) as avg_cost_per_request
FROM TABLE(
    TUMBLE(TABLE llm_requests, DESCRIPTOR(event_time), INTERVAL '1' HOUR)
)
GROUP BY model_id, window_start
EMIT AFTER WATERMARK;
