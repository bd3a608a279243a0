-- Spec 4.5 Query 11 (Late Data Monitoring), rewritten: per model, how many
-- events arrived in each 1-minute processing-time window and how far their
-- event time lagged behind processing time (average, in seconds).
-- Changed from the spec, which cannot run as written:
--  * it reads `system.watermarks`, a table that does not exist in the
--    catalog (nor in Flink), in a scalar subquery;
--  * it groups by TUMBLE(PROCTIME(), ...) AND by window_start, which the
--    legacy group-window syntax does not provide;
--  * `CURRENT_TIMESTAMP - event_time` subtracts two timestamps (rejected by
--    Flink).
-- Nearest meaningful valid query: the same 1-minute processing-time windows
-- per model (TVF form on the catalog's proc_time attribute), counting events
-- and averaging TIMESTAMPDIFF(SECOND, event_time, proc_time) as the lag.
-- Late events themselves are not visible to a SQL query: sqlc counts every
-- event dropped as late (per operator) and can route them to a late-events
-- sink, which is how late data is monitored. (Flink's CURRENT_WATERMARK(
-- event_time) function would allow `WHERE event_time <= CURRENT_WATERMARK(
-- event_time)` to select late rows.) Processing-time results are not
-- reproducible across runs.
SELECT
    model_id,
    window_start,
    window_end,
    COUNT(*) as event_count,
    AVG(TIMESTAMPDIFF(SECOND, event_time, proc_time)) as avg_lag_seconds
FROM TABLE(
    TUMBLE(TABLE llm_requests, DESCRIPTOR(proc_time), INTERVAL '1' MINUTE)
)
GROUP BY model_id, window_start, window_end;
