-- Spec 4.8 Query 17 (Enriched Request Stream): a view of requests enriched
-- with their model's configuration and classified into latency and cost
-- categories, then a query reading it.
-- Change: the SELECT after the view is not in the spec; it was added so the
-- file contains a runnable query (a view alone produces no pipeline).
-- Kept as in the spec: plain LEFT JOIN with the lookup table (sqlc accepts
-- it; Flink's lookup-join form is FOR SYSTEM_TIME AS OF r.proc_time).
-- NULL latency or cost falls into the ELSE branch ('slow' / 'medium').
CREATE VIEW enriched_requests AS
SELECT
    r.request_id,
    r.model_id,
    r.latency_ms,
    r.tokens_used,
    r.cost,
    c.max_tokens,
    c.temperature,
    c.cost_per_token,
    CASE
        WHEN r.latency_ms < 500 THEN 'fast'
        WHEN r.latency_ms < 2000 THEN 'normal'
        ELSE 'slow'
    END as latency_category,
    CASE
        WHEN r.cost > c.cost_per_token * c.max_tokens * 0.8 THEN 'high'
        WHEN r.cost < c.cost_per_token * c.max_tokens * 0.2 THEN 'low'
        ELSE 'medium'
    END as cost_category
FROM llm_requests r
LEFT JOIN model_configs c ON r.model_id = c.model_id;

SELECT * FROM enriched_requests;
