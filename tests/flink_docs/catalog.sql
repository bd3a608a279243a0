-- Tables of Flink's documentation (Queries > Set Operations), as Kafka streams
CREATE TABLE Orders (
    `user` BIGINT,
    product VARCHAR,
    amount INT,
    ts BIGINT NOT NULL,
    order_time AS TO_TIMESTAMP(ts),
    WATERMARK FOR order_time AS order_time - INTERVAL '1' SECOND
) WITH ('connector' = 'kafka', 'topic' = 'orders', 'format' = 'json');

CREATE TABLE NewProducts (
    product VARCHAR,
    ts BIGINT NOT NULL,
    added_time AS TO_TIMESTAMP(ts),
    WATERMARK FOR added_time AS added_time - INTERVAL '1' SECOND
) WITH ('connector' = 'kafka', 'topic' = 'new_products', 'format' = 'json');
