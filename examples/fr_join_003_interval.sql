-- Spec 2.3 FR-JOIN-003 (interval join): attach error counts reported within
-- +/- 10 seconds of each request (time bounds in ON).
SELECT
    l.request_id,
    l.latency_ms,
    r.error_count
FROM llm_requests l
JOIN error_events r
ON l.request_id = r.request_id
AND r.event_time BETWEEN l.event_time - INTERVAL '10' SECONDS
                     AND l.event_time + INTERVAL '10' SECONDS;
