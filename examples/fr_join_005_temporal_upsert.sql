-- Event-time temporal join with an upsert-kafka table as the versioned table:
-- the prices arrive as upserts on a compacted topic keyed by model_id, each
-- a model's price from its changed_at on. A tombstone (a null value)
-- withdraws the model's price: from the time of its previous price here,
-- where the time is a value field the tombstone does not have (with
-- changed_at METADATA FROM 'timestamp', from the tombstone's own time). Each
-- request is billed at the price valid at its event time, NULL when none is.
CREATE TABLE model_price_updates (
    model_id VARCHAR NOT NULL,
    usd_per_1k_tokens DOUBLE,
    changed_at_ms BIGINT,
    changed_at AS TO_TIMESTAMP(changed_at_ms),
    WATERMARK FOR changed_at AS changed_at - INTERVAL '5' SECONDS,
    PRIMARY KEY (model_id) NOT ENFORCED
) WITH (
    'connector' = 'upsert-kafka',
    'topic' = 'model-price-updates',
    'key.format' = 'json',
    'value.format' = 'json',
    'properties.bootstrap.servers' = '${KAFKA_BOOTSTRAP_SERVERS}'
);

SELECT
    r.request_id,
    r.model_id,
    r.event_time,
    r.tokens_used,
    p.usd_per_1k_tokens,
    r.tokens_used * p.usd_per_1k_tokens / 1000 AS billed_usd
FROM llm_requests AS r
LEFT JOIN model_price_updates FOR SYSTEM_TIME AS OF r.event_time AS p
    ON r.model_id = p.model_id;
