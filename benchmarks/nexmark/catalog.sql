-- The Nexmark tables person, auction and bid (github.com/nexmark/nexmark,
-- nexmark-flink/src/main/resources/queries/ddl_kafka.sql + ddl_views.sql),
-- read from the JSON-lines files benchmarks/nexmark/generator.py writes.
--
-- Flink declares one table of all events, with a ROW column per kind
-- (person ROW<id BIGINT, ...>), and the three views select each kind's
-- fields: that is ./catalog_flink.sql. Here each view is a table of its own
-- with the view's columns, the watermark of Flink's table (dateTime - 4 s)
-- and sqlc's file connector in place of 'kafka', so that each query reads
-- only the events of its kinds. The queries in queries/ read these tables
-- exactly as Flink's read the views; tests/test_nexmark.py checks that both
-- catalogs give the same rows.
CREATE TABLE person (
    id  BIGINT,
    name  VARCHAR,
    emailAddress  VARCHAR,
    creditCard  VARCHAR,
    city  VARCHAR,
    state  VARCHAR,
    `dateTime` TIMESTAMP(3),
    extra  VARCHAR,
    WATERMARK FOR `dateTime` AS `dateTime` - INTERVAL '4' SECOND
) WITH ('connector' = 'filesystem', 'path' = 'person.jsonl', 'format' = 'json');

CREATE TABLE auction (
    id  BIGINT,
    itemName  VARCHAR,
    description  VARCHAR,
    initialBid  BIGINT,
    reserve  BIGINT,
    `dateTime`  TIMESTAMP(3),
    expires  TIMESTAMP(3),
    seller  BIGINT,
    category  BIGINT,
    extra  VARCHAR,
    WATERMARK FOR `dateTime` AS `dateTime` - INTERVAL '4' SECOND
) WITH ('connector' = 'filesystem', 'path' = 'auction.jsonl', 'format' = 'json');

CREATE TABLE bid (
    auction  BIGINT,
    bidder  BIGINT,
    price  BIGINT,
    channel  VARCHAR,
    url  VARCHAR,
    `dateTime`  TIMESTAMP(3),
    extra  VARCHAR,
    WATERMARK FOR `dateTime` AS `dateTime` - INTERVAL '4' SECOND
) WITH ('connector' = 'filesystem', 'path' = 'bid.jsonl', 'format' = 'json');
