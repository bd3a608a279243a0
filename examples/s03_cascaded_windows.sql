-- sqlc example (cascaded windows, issue 14): per model, 1-minute request
-- counts rolled up into 1-hour windows, with the busiest minute of each hour.
-- The inner window aggregate's window_time is renamed (rowtime), as in
-- Flink's cascading window example, and is the outer TUMBLE's time attribute.
WITH per_minute AS (
    SELECT
        model_id,
        window_time AS rowtime,
        COUNT(*) AS requests
    FROM TABLE(
        TUMBLE(TABLE llm_requests, DESCRIPTOR(event_time), INTERVAL '1' MINUTE)
    )
    GROUP BY model_id, window_start, window_end, window_time
)
SELECT
    model_id,
    window_start,
    window_end,
    SUM(requests) AS requests,
    MAX(requests) AS busiest_minute,
    COUNT(*) AS active_minutes
FROM TABLE(
    TUMBLE(TABLE per_minute, DESCRIPTOR(rowtime), INTERVAL '1' HOUR)
)
GROUP BY model_id, window_start, window_end;
