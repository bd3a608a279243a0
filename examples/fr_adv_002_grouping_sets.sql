-- Spec 2.5 FR-ADV-002 (GROUPING SETS): running request counts per
-- (model, region), per model, and in total, in one updating result.
-- Rolled-up columns are NULL (indistinguishable from a NULL region).
-- `count` as an unquoted alias is kept from the spec (reserved in Flink,
-- which needs `count` in backquotes; sqlc accepts it).
SELECT
    model_id,
    region,
    COUNT(*) as count
FROM llm_requests
GROUP BY GROUPING SETS (
    (model_id, region),
    (model_id),
    ()
);
