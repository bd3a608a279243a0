-- Spec 4.6 Query 14 (Cohort Analysis): users grouped by the day of their
-- first request (cohort) and the number of days since it; active users and
-- average daily requests per (cohort, day offset).
-- Changed from the spec, which is invalid as written: it computed
--   DATEDIFF(day, first_request_date, request_date)
-- in the same SELECT list that defines those two aliases (a SELECT alias
-- cannot be referenced at the same level), and DATEDIFF is not a Flink
-- function. The aliases are now defined in an inner subquery and the
-- difference is taken one level up with TIMESTAMPDIFF(DAY, ...) (standard /
-- Flink; both operands are truncated to the day, so it counts calendar days).
-- Everything else is kept: DATE_TRUNC (Flink: FLOOR(ts TO DAY)), OVER
-- windows without ORDER BY (whole-partition aggregates: Flink's streaming
-- mode rejects them, and on an unbounded stream the result is only final at
-- end of input) and the final ORDER BY. Note that AVG(daily_requests) averages over requests (each
-- request row carries its user-day count), not over users, as in the spec.
SELECT
    first_request_date,
    days_since_first,
    COUNT(DISTINCT user_id) as active_users,
    AVG(daily_requests) as avg_requests_per_user
FROM (
    SELECT
        user_id,
        first_request_date,
        request_date,
        TIMESTAMPDIFF(DAY, first_request_date, request_date) as days_since_first,
        daily_requests
    FROM (
        SELECT
            user_id,
            DATE_TRUNC('day', MIN(event_time) OVER (PARTITION BY user_id)) as first_request_date,
            DATE_TRUNC('day', event_time) as request_date,
            COUNT(*) OVER (PARTITION BY user_id, DATE_TRUNC('day', event_time)) as daily_requests
        FROM llm_requests
    )
)
GROUP BY first_request_date, days_since_first
ORDER BY first_request_date, days_since_first;
