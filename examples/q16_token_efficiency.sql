-- Spec 4.7 Query 16 (Token Efficiency): per model and 1-hour event-time
-- window, average tokens per request, average tokens per prompt character,
-- and the cost per token.
-- Kept as in the spec: legacy group-window syntax with window_start in the
-- SELECT list (Flink has no such column there and would need
-- TUMBLE_START(event_time, INTERVAL '1' HOUR) AS window_start), and LENGTH
-- (Flink's name is CHAR_LENGTH).
-- Note: tokens_used / LENGTH(prompt_text) is INT / INT, which truncates
-- toward zero (Flink semantics), so tokens_per_char averages whole numbers.
-- Rows with NULL tokens_used (failed requests) are skipped by the aggregates.
SELECT
    model_id,
    window_start,
    AVG(tokens_used) as avg_tokens,
    AVG(tokens_used / LENGTH(prompt_text)) as tokens_per_char,
    SUM(cost) / SUM(tokens_used) as cost_per_token
FROM llm_requests
GROUP BY model_id, TUMBLE(event_time, INTERVAL '1' HOUR);
