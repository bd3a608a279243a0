-- Spec 2.2 FR-DQL-007 (EMIT strategies): per-model count in 5-minute
-- tumbling windows, each window emitted once the watermark passes
-- window_end + 2 minutes, so events up to 2 minutes late still count.
-- EMIT ... is a spec extension (no Flink equivalent).
-- `count` as an unquoted alias is kept from the spec (reserved in Flink,
-- which needs `count` in backquotes; sqlc accepts it).
SELECT
    model_id,
    window_start,
    COUNT(*) as count
FROM TABLE(TUMBLE(TABLE llm_requests, DESCRIPTOR(event_time), INTERVAL '5' MINUTES))
GROUP BY model_id, window_start
EMIT AFTER WATERMARK WITH DELAY INTERVAL '2' MINUTES;
