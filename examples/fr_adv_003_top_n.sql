-- Spec 2.5 FR-ADV-003 (Top-N): the 10 slowest requests in every 5-minute
-- tumbling window (window Top-N over the TUMBLE TVF).
-- Kept as in the spec: ROW_NUMBER partitions by window_start only; Flink's
-- canonical window Top-N partitions by window_start, window_end (same rows).
SELECT
    model_id,
    window_start,
    latency_ms,
    row_num
FROM (
    SELECT
        model_id,
        window_start,
        latency_ms,
        ROW_NUMBER() OVER (PARTITION BY window_start ORDER BY latency_ms DESC) as row_num
    FROM TABLE(TUMBLE(TABLE llm_requests, DESCRIPTOR(event_time), INTERVAL '5' MINUTES))
)
WHERE row_num <= 10;
