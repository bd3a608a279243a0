-- Nexmark q13: Bounded Side Input Join. The Flink SQL of github.com/nexmark/nexmark
-- (nexmark-flink/src/main/resources/queries/q13.sql), reading the tables of
-- ../catalog.sql. The sink keeps Flink's 'blackhole' connector: sqlc discards
-- its rows, or writes them to the file given with --output.
-- Changed: side_input's legacy WITH ('connector.type' = 'filesystem', ...)
-- is sqlc's file connector reading the generator's side_input.csv.

-- TODO: use the new "filesystem" connector once FLINK-17397 is done
CREATE TABLE side_input (
  key BIGINT,
  `value` VARCHAR
) WITH (
  'connector' = 'filesystem',
  'path' = 'side_input.csv',
  'format' = 'csv'
);

CREATE TABLE nexmark_q13 (
  auction  BIGINT,
  bidder  BIGINT,
  price  BIGINT,
  `dateTime`  TIMESTAMP(3),
  `value`  VARCHAR
) WITH (
  'connector' = 'blackhole'
);

INSERT INTO nexmark_q13
SELECT
    B.auction,
    B.bidder,
    B.price,
    B.`dateTime`,
    S.`value`
FROM (SELECT *, PROCTIME() as p_time FROM bid) B
JOIN side_input FOR SYSTEM_TIME AS OF B.p_time AS S
ON mod(B.auction, 10000) = S.key;
