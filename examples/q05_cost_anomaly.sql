-- Spec 4.2 Query 5 (Cost Anomaly Detection): hourly cost per model compared
-- with the average of the model's previous 23 hourly costs; flags an hour
-- as 'ANOMALY' when it exceeds 1.5x that average.
-- Kept as in the spec: an OVER window over a window aggregate with the frame
-- ROWS BETWEEN 23 PRECEDING AND 1 PRECEDING (Flink only allows CURRENT ROW
-- as the upper bound; sqlc accepts it with the standard meaning). The first
-- hour of each model has no history: avg_historical_cost is NULL and the
-- CASE yields 'NORMAL'.
SELECT
    model_id,
    window_start,
    SUM(cost) as current_cost,
    AVG(SUM(cost)) OVER (
        PARTITION BY model_id
        ORDER BY window_start
        ROWS BETWEEN 23 PRECEDING AND 1 PRECEDING
    ) as avg_historical_cost,
    CASE
        WHEN SUM(cost) > 1.5 * AVG(SUM(cost)) OVER (
            PARTITION BY model_id
            ORDER BY window_start
            ROWS BETWEEN 23 PRECEDING AND 1 PRECEDING
        ) THEN 'ANOMALY'
        ELSE 'NORMAL'
    END as status
FROM TABLE(
    TUMBLE(TABLE llm_requests, DESCRIPTOR(event_time), INTERVAL '1' HOUR)
)
GROUP BY model_id, window_start;
