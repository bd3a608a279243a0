-- Event-time temporal join (Flink's FOR SYSTEM_TIME AS OF the stream's event
-- time): each request billed at the price its model had when the request was
-- made, not at today's price. model_prices is a versioned table (a PRIMARY
-- KEY and a WATERMARK); a request before its model's first price, or of a
-- model without one, keeps NULL price columns (LEFT JOIN). Each request comes
-- out once the watermarks of both inputs pass its event time.
SELECT
    r.request_id,
    r.model_id,
    r.event_time,
    r.tokens_used,
    p.usd_per_1k_tokens,
    r.tokens_used * p.usd_per_1k_tokens / 1000 AS billed_usd
FROM llm_requests AS r
LEFT JOIN model_prices FOR SYSTEM_TIME AS OF r.event_time AS p
    ON r.model_id = p.model_id;
