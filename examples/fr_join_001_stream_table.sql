-- Spec 2.3 FR-JOIN-001 (stream-table join): enrich each request with its
-- model's configuration from the model_configs lookup table and compute the
-- cost from tokens_used * cost_per_token. Unknown models get NULL columns.
-- Kept as in the spec (plain LEFT JOIN; sqlc accepts it as a lookup join).
-- The Flink lookup-join form is
--   LEFT JOIN model_configs FOR SYSTEM_TIME AS OF r.proc_time AS c
-- which gives the same rows while the table does not change.
SELECT
    r.request_id,
    r.model_id,
    r.latency_ms,
    c.max_tokens,
    c.cost_per_token,
    r.tokens_used * c.cost_per_token as calculated_cost
FROM llm_requests r
LEFT JOIN model_configs c
ON r.model_id = c.model_id;
