-- sqlc example (issue 13): requests per pricing tier, with the models of each
-- tier. The tiers are an inline VALUES table (in Flink a bounded, insert-only
-- source, read once) joined to the per-model counts; LISTAGG joins a tier's
-- models in the order their latest counts arrived, and takes a model's old
-- count back as the counts update (Flink's ListAggWithRetract). An updating
-- result: one row per tier, changed as requests arrive.
-- gpt-4o-mini has no tier in the table: the inner join drops it.
SELECT
    t.tier,
    LISTAGG(m.model_id, ' ') AS models,
    SUM(m.requests) AS requests
FROM (
    SELECT model_id, COUNT(*) AS requests
    FROM llm_requests
    GROUP BY model_id
) AS m
JOIN (
    VALUES ('gpt-4o', 'premium'), ('claude-3-opus', 'premium'),
           ('gemini-1.5-pro', 'premium'), ('claude-3-haiku', 'economy'),
           ('llama-3-70b', 'economy'), ('mistral-large', 'economy')
) AS t (model_id, tier)
ON m.model_id = t.model_id
GROUP BY t.tier;
