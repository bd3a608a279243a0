-- Spec 4.3 Query 7 (User Journey with Feedback): each request with the
-- rating and text of feedback given for it within 10 minutes, in event-time
-- order.
-- Kept as in the spec. Note: the time bound on fb sits in WHERE, which
-- rejects the NULL-padded rows of the LEFT JOIN, so (as in Flink, whose
-- planner turns it into an inner interval join) requests without feedback
-- within 10 minutes do not appear. ORDER BY the event-time attribute
-- (ascending) is allowed on a stream.
SELECT
    req.user_id,
    req.request_id,
    req.model_id,
    req.latency_ms,
    fb.rating,
    fb.feedback_text
FROM llm_requests req
LEFT JOIN user_feedback fb
ON req.request_id = fb.request_id
WHERE fb.event_time BETWEEN req.event_time AND req.event_time + INTERVAL '10' MINUTES
ORDER BY req.event_time;
