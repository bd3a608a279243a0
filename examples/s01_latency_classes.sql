-- sqlc example (stateless): every request with its latency class and a
-- rounded cost in cents, the way the spec's Query 17 classifies latency, without
-- the lookup join. Exercises CASE, ROUND, UPPER, COALESCE and DATE_FORMAT.
SELECT
    request_id,
    model_id,
    UPPER(COALESCE(region, 'unknown')) AS region,
    DATE_FORMAT(event_time, 'yyyy-MM-dd HH:mm:ss') AS requested_at,
    latency_ms,
    CASE
        WHEN latency_ms < 500 THEN 'fast'
        WHEN latency_ms < 2000 THEN 'normal'
        ELSE 'slow'
    END AS latency_category,
    ROUND(cost * 100, 2) AS cost_cents
FROM llm_requests
WHERE model_id LIKE 'claude%' AND tokens_used BETWEEN 100 AND 2000;
