-- Spec 4.4 Query 9 (Top N Models by Cost): the 5 most expensive models in
-- each 1-hour tumbling window.
-- Kept as in the spec: `rank` as an unquoted alias (a reserved word Flink
-- would need quoted as `rank`; sqlc accepts it), ROW_NUMBER partitioned by
-- window_start only (same rows as window_start, window_end).
SELECT
    model_id,
    window_start,
    total_cost,
    rank
FROM (
    SELECT
        model_id,
        window_start,
        SUM(cost) as total_cost,
        ROW_NUMBER() OVER (PARTITION BY window_start ORDER BY SUM(cost) DESC) as rank
    FROM TABLE(
        TUMBLE(TABLE llm_requests, DESCRIPTOR(event_time), INTERVAL '1' HOUR)
    )
    GROUP BY model_id, window_start
)
WHERE rank <= 5;
