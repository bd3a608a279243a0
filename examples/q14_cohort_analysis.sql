-- Spec 4.6 Query 14 (Cohort Analysis): users grouped by the day of their
-- first request (cohort) and the number of days since it; active users and
-- average requests per active user and day, per (cohort, day offset).
-- Changed from the spec, which is not valid streaming SQL as written:
--  * it computed DATEDIFF(day, first_request_date, request_date) in the same
--    SELECT list that defines those aliases (not allowed), and DATEDIFF is not
--    a Flink function: the day offset is TIMESTAMPDIFF(DAY, ...) one level up;
--  * MIN(...) OVER (PARTITION BY user_id) and COUNT(*) OVER (PARTITION BY
--    user_id, day) have no ORDER BY: on a stream such a partition never ends,
--    so Flink (and sqlc) reject them. Requests per user and day are now a
--    1-day TUMBLE window, and the cohort day is the running minimum of those
--    days per user (MIN ... OVER ORDER BY the window's time attribute), which
--    is the first day once the user's first window has fired;
--  * AVG(daily_requests) now averages over active users (one row per user and
--    day) rather than over requests, which is what avg_requests_per_user means;
--  * the final ORDER BY is dropped: an updating result cannot be sorted on a
--    stream (sort the sink's table instead).
WITH daily AS (
    SELECT
        user_id,
        window_start AS request_date,
        window_time,
        COUNT(*) AS daily_requests
    FROM TABLE(
        TUMBLE(TABLE llm_requests, DESCRIPTOR(event_time), INTERVAL '1' DAY)
    )
    GROUP BY user_id, window_start, window_end, window_time
),
cohorts AS (
    SELECT
        user_id,
        request_date,
        daily_requests,
        MIN(request_date) OVER (
            PARTITION BY user_id
            ORDER BY window_time
            ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
        ) AS first_request_date
    FROM daily
)
SELECT
    first_request_date,
    TIMESTAMPDIFF(DAY, first_request_date, request_date) AS days_since_first,
    COUNT(DISTINCT user_id) AS active_users,
    AVG(daily_requests) AS avg_requests_per_user
FROM cohorts
GROUP BY first_request_date, TIMESTAMPDIFF(DAY, first_request_date, request_date);
