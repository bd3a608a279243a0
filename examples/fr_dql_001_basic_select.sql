-- Spec 2.2 FR-DQL-001 (basic SELECT): projection and filter, passes through
-- every request slower than 1 s (NULL latencies are dropped by the filter).
SELECT
    model_id,
    latency_ms,
    cost
FROM llm_requests
WHERE latency_ms > 1000;
