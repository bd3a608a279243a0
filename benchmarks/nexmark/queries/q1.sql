-- Nexmark q1: Currency Conversion. The Flink SQL of github.com/nexmark/nexmark
-- (nexmark-flink/src/main/resources/queries/q1.sql), reading the tables of
-- ../catalog.sql. The sink keeps Flink's 'blackhole' connector: sqlc discards
-- its rows, or writes them to the file given with --output.
-- Unchanged.

CREATE TABLE nexmark_q1 (
  auction  BIGINT,
  bidder  BIGINT,
  price  DECIMAL(23, 3),
  `dateTime`  TIMESTAMP(3),
  extra  VARCHAR
) WITH (
  'connector' = 'blackhole'
);

INSERT INTO nexmark_q1
SELECT
    auction,
    bidder,
    0.908 * price as price, -- convert dollar to euro
    `dateTime`,
    extra
FROM bid;
