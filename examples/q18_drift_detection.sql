-- Spec 4.8 Query 18 (Drift Detection): per model, hourly average latency
-- compared with the average of the previous 167 hourly averages (one week);
-- reports the drift percentage and flags drift above 20%. Hours without a
-- baseline (a model's first hour) are filtered out.
-- Kept as in the spec (OVER frame ending at 1 PRECEDING: see q05).
SELECT
    model_id,
    current_window,
    current_avg_latency,
    baseline_avg_latency,
    ABS(current_avg_latency - baseline_avg_latency) / baseline_avg_latency * 100.0 as drift_pct,
    CASE
        WHEN ABS(current_avg_latency - baseline_avg_latency) / baseline_avg_latency > 0.2 THEN 'DRIFT'
        ELSE 'NORMAL'
    END as status
FROM (
    SELECT
        model_id,
        window_start as current_window,
        AVG(latency_ms) as current_avg_latency,
        AVG(AVG(latency_ms)) OVER (
            PARTITION BY model_id
            ORDER BY window_start
            ROWS BETWEEN 167 PRECEDING AND 1 PRECEDING
        ) as baseline_avg_latency
    FROM TABLE(
        TUMBLE(TABLE llm_requests, DESCRIPTOR(event_time), INTERVAL '1' HOUR)
    )
    GROUP BY model_id, window_start
)
WHERE baseline_avg_latency IS NOT NULL;
