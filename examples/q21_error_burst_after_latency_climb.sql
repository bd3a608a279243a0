-- LLM monitoring (MATCH_RECOGNIZE, not in the spec): per model, latency
-- climbing over three or more successful requests, then two failed requests,
-- all within five minutes: an error burst after a latency climb.
SELECT *
FROM llm_requests
MATCH_RECOGNIZE (
    PARTITION BY model_id
    ORDER BY event_time
    MEASURES
        FIRST(UP.request_id) AS climb_start,
        FIRST(UP.latency_ms) AS start_latency_ms,
        LAST(UP.latency_ms) AS peak_latency_ms,
        COUNT(UP.*) AS climb_requests,
        LAST(ERR.error_code) AS last_error,
        MATCH_ROWTIME() AS detected_at
    AFTER MATCH SKIP PAST LAST ROW
    PATTERN (UP{3,} ERR{2}) WITHIN INTERVAL '5' MINUTE
    DEFINE
        UP AS UP.error_code IS NULL
            AND (LAST(UP.latency_ms, 1) IS NULL OR UP.latency_ms > LAST(UP.latency_ms, 1)),
        ERR AS ERR.error_code IS NOT NULL
);
