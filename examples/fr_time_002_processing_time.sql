-- Spec 2.4 FR-TIME-002 (processing time): per-model request count in
-- 1-minute tumbling PROCESSING-time windows (legacy GROUP BY TUMBLE syntax).
-- Kept as in the spec. Results depend on when events are processed, so they
-- are not reproducible across runs. The catalog also declares
-- proc_time AS PROCTIME() on llm_requests; the usual Flink spelling is
--   GROUP BY model_id, TUMBLE(proc_time, INTERVAL '1' MINUTE)
-- with TUMBLE_START(proc_time, INTERVAL '1' MINUTE) for the window start.
-- `count` as an unquoted alias is kept from the spec (reserved in Flink,
-- which needs `count` in backquotes; sqlc accepts it).
SELECT
    model_id,
    PROCTIME() as processing_time,
    COUNT(*) as count
FROM llm_requests
GROUP BY model_id, TUMBLE(PROCTIME(), INTERVAL '1' MINUTE);
