-- sqlc example catalog: every stream and table used by the spec's example
-- queries (spec section 2 FR-* examples and section 4 Queries 1-20).
-- `sqlc compile` loads this file before each examples/*.sql query file
-- (see [tool.sqlc] in pyproject.toml). ${NAME} placeholders in WITH
-- properties are resolved from the environment when the pipeline starts;
-- they are never written into generated code.
--
-- Sample data for every object is in examples/data/ (field names = columns).

-- LLM request events, one per completed or failed model call (Kafka topic
-- llm-requests, JSON). Superset of every column any spec example reads.
-- event_time is the event-time attribute (epoch millis -> TIMESTAMP(3), UTC),
-- with a bounded out-of-orderness watermark of 30 s. proc_time is a
-- processing-time attribute, for processing-time windows and for
-- Flink-style lookup joins (FOR SYSTEM_TIME AS OF r.proc_time).
CREATE STREAM llm_requests (
    request_id VARCHAR NOT NULL,    -- unique id of the request
    user_id VARCHAR,                -- NULL for anonymous calls
    model_id VARCHAR NOT NULL,      -- e.g. 'gpt-4o', 'claude-3-opus'
    region VARCHAR,                 -- 'us-east', 'us-west', 'eu-west', 'ap-south'
    timestamp_ms BIGINT NOT NULL,   -- event time, epoch milliseconds (UTC)
    latency_ms DOUBLE,              -- end-to-end latency of the call
    tokens_used INT,                -- prompt + completion tokens; NULL on error
    cost DOUBLE,                    -- USD; NULL on error
    error_code VARCHAR,             -- NULL on success, else 'rate_limit', 'timeout', ...
    experiment_id VARCHAR,          -- A/B experiment, NULL when not enrolled
    variant VARCHAR,                -- experiment arm: 'A' or 'B' (reserved word in Flink 2.x: `variant` there)
    prompt_text VARCHAR,            -- (short) prompt text
    event_time AS TO_TIMESTAMP(timestamp_ms),
    proc_time AS PROCTIME(),
    WATERMARK FOR event_time AS event_time - INTERVAL '30' SECONDS
) WITH (
    'connector' = 'kafka',
    'topic' = 'llm-requests',
    'format' = 'json',
    'properties.bootstrap.servers' = '${KAFKA_BOOTSTRAP_SERVERS}',
    'scan.startup.mode' = 'earliest-offset'
);

-- User ratings of individual responses, keyed by the request they rate
-- (Kafka topic user-feedback). Arrives minutes after the request.
CREATE STREAM user_feedback (
    request_id VARCHAR NOT NULL,    -- the rated request (llm_requests.request_id)
    user_id VARCHAR,                -- who gave the rating
    rating INT,                     -- 1 (bad) .. 5 (good)
    feedback_text VARCHAR,          -- optional free text
    timestamp_ms BIGINT NOT NULL,   -- event time, epoch milliseconds (UTC)
    event_time AS TO_TIMESTAMP(timestamp_ms),
    WATERMARK FOR event_time AS event_time - INTERVAL '30' SECONDS
) WITH (
    'connector' = 'kafka',
    'topic' = 'user-feedback',
    'format' = 'json',
    'properties.bootstrap.servers' = '${KAFKA_BOOTSTRAP_SERVERS}',
    'scan.startup.mode' = 'earliest-offset'
);

-- Error reports from the serving layer, one per failed request (Kafka topic
-- error-events). Emitted a few seconds after the request event.
CREATE STREAM error_events (
    request_id VARCHAR NOT NULL,    -- the failed request (llm_requests.request_id)
    error_code VARCHAR,             -- 'rate_limit', 'timeout', 'context_length', ...
    error_message VARCHAR,          -- human-readable message
    error_count INT,                -- attempts that failed with this error (retries + 1)
    timestamp_ms BIGINT NOT NULL,   -- event time, epoch milliseconds (UTC)
    event_time AS TO_TIMESTAMP(timestamp_ms),
    WATERMARK FOR event_time AS event_time - INTERVAL '30' SECONDS
) WITH (
    'connector' = 'kafka',
    'topic' = 'error-events',
    'format' = 'json',
    'properties.bootstrap.servers' = '${KAFKA_BOOTSTRAP_SERVERS}',
    'scan.startup.mode' = 'earliest-offset'
);

-- Per-model serving configuration, a lookup table in PostgreSQL used to
-- enrich the request stream (stream-table joins). One row per model.
CREATE TABLE model_configs (
    model_id VARCHAR PRIMARY KEY,   -- key, joins llm_requests.model_id (as the spec writes it)
    max_tokens INT,                 -- context/completion limit
    temperature DOUBLE,             -- default sampling temperature
    cost_per_token DOUBLE,          -- USD per token
    max_qps DOUBLE,                 -- provisioned capacity, requests per second
    updated_at TIMESTAMP(3)         -- last change of this row
) WITH (
    'connector' = 'postgres',
    'url' = '${POSTGRES_URL}',
    'table-name' = 'model_configs',
    'username' = '${POSTGRES_USER}',
    'password' = '${POSTGRES_PASSWORD}'
);

-- Price of each model over time (file model_prices.jsonl, one row per price
-- change): a versioned table, as Flink calls it. Its PRIMARY KEY says whose
-- price a row is, its WATERMARK on valid_from says from when; a row is the
-- model's price from valid_from until its next row. FOR SYSTEM_TIME AS OF a
-- request's event_time joins the price valid when the request was made
-- (an event-time temporal join).
CREATE TABLE model_prices (
    model_id VARCHAR PRIMARY KEY,   -- the priced model (llm_requests.model_id)
    usd_per_1k_tokens DOUBLE,       -- the list price from valid_from on
    valid_from_ms BIGINT NOT NULL,  -- since when, epoch milliseconds (UTC)
    valid_from AS TO_TIMESTAMP(valid_from_ms),
    WATERMARK FOR valid_from AS valid_from - INTERVAL '5' SECONDS
) WITH (
    'connector' = 'filesystem',
    'path' = 'examples/data/model_prices.jsonl',
    'format' = 'json'
);
