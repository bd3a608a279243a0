-- Spec 2.1 FR-DDL-003 (CREATE VIEW): a reusable view of requests that cost
-- more than $0.10, then a query reading it.
-- Change: the SELECT after the view is not in the spec; it was added so the
-- file contains a runnable query (a view alone produces no pipeline).
CREATE VIEW high_cost_requests AS
SELECT
    model_id,
    request_id,
    cost,
    latency_ms
FROM llm_requests
WHERE cost > 0.10;

SELECT * FROM high_cost_requests;
