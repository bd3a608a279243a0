-- Nexmark q19: Auction TOP-10 Price. The Flink SQL of github.com/nexmark/nexmark
-- (nexmark-flink/src/main/resources/queries/q19.sql), reading the tables of
-- ../catalog.sql. The sink keeps Flink's 'blackhole' connector: sqlc discards
-- its rows, or writes them to the file given with --output.
-- Unchanged.

CREATE TABLE nexmark_q19 (
    auction  BIGINT,
    bidder  BIGINT,
    price  BIGINT,
    channel  VARCHAR,
    url  VARCHAR,
    `dateTime`  TIMESTAMP(3),
    extra  VARCHAR,
    rank_number  BIGINT
) WITH (
  'connector' = 'blackhole'
);

INSERT INTO nexmark_q19
SELECT * FROM
(SELECT *, ROW_NUMBER() OVER (PARTITION BY auction ORDER BY price DESC) AS rank_number FROM bid)
WHERE rank_number <= 10;
