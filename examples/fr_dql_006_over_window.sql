-- Spec 2.2 FR-DQL-006 (OVER window): for every request, the moving average
-- latency of the last 100 requests (this one included) of the same model,
-- in event-time order.
SELECT
    request_id,
    model_id,
    latency_ms,
    AVG(latency_ms) OVER (
        PARTITION BY model_id
        ORDER BY event_time
        ROWS BETWEEN 99 PRECEDING AND CURRENT ROW
    ) as moving_avg_100
FROM llm_requests;
