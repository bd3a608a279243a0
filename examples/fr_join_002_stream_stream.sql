-- Spec 2.3 FR-JOIN-002 (stream-stream join): pair each request with the
-- feedback given for it within 5 minutes after the request (interval join,
-- time bounds in WHERE, BETWEEN inclusive at both ends).
SELECT
    req.request_id,
    req.model_id,
    req.latency_ms,
    fb.rating,
    fb.feedback_text
FROM llm_requests req
JOIN user_feedback fb
ON req.request_id = fb.request_id
WHERE fb.event_time BETWEEN req.event_time AND req.event_time + INTERVAL '5' MINUTES;
