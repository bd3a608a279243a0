-- sqlc example (stateless): failed requests with the hour they happened in and
-- a short prompt preview, e.g. for an on-call alert feed. Exercises IS NOT NULL,
-- IN, EXTRACT, SUBSTRING, CONCAT, CHAR length and CAST.
SELECT
    request_id,
    model_id,
    error_code,
    EXTRACT(HOUR FROM event_time) AS hour_of_day,
    CONCAT(SUBSTRING(prompt_text, 1, 24), '...') AS prompt_preview,
    LENGTH(prompt_text) AS prompt_chars,
    CAST(tokens_used AS DOUBLE) / 1000 AS kilo_tokens
FROM llm_requests
WHERE error_code IS NOT NULL
  AND error_code IN ('rate_limit', 'timeout', 'context_length');
