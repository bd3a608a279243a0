-- Spec 2.5 FR-ADV-001 (MATCH_RECOGNIZE): per model, find a fast request
-- (< 100 ms), then one or more slow ones (> 1000 ms), then a fast one again;
-- one row per match (default AFTER MATCH SKIP TO NEXT ROW).
SELECT *
FROM llm_requests
MATCH_RECOGNIZE (
    PARTITION BY model_id
    ORDER BY event_time
    MEASURES
        A.request_id as first_request,
        LAST(B.request_id) as last_request,
        COUNT(*) as pattern_count
    PATTERN (A B+ C)
    DEFINE
        A AS A.latency_ms < 100,
        B AS B.latency_ms > 1000,
        C AS C.latency_ms < 100
);
