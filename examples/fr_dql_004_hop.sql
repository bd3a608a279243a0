-- Spec 2.2 FR-DQL-004 (HOP window TVF): per-model average latency over
-- 10-minute windows sliding every minute (each event is in 10 windows).
SELECT
    model_id,
    window_start,
    window_end,
    AVG(latency_ms) as sliding_avg_latency
FROM TABLE(
    HOP(TABLE llm_requests,
        DESCRIPTOR(event_time),
        INTERVAL '1' MINUTE,    -- slide
        INTERVAL '10' MINUTES)  -- size
)
GROUP BY model_id, window_start, window_end;
