-- Predictive models: one row per prediction run, one per customer scored by it.
-- A run that only validates (CLV with a hold-out) is stored with scored = false and no rows
-- in predictions, so that the current scores always come from a model fitted on all data.

CREATE TABLE prediction_runs (
    run_id       VARCHAR PRIMARY KEY,
    kind         VARCHAR NOT NULL,              -- clv | churn
    created_at   TIMESTAMP NOT NULL,
    as_of        DATE NOT NULL,                 -- calibration end / scoring cut-off (workspace day)
    params       JSON NOT NULL,                 -- options the run was made with
    model        JSON NOT NULL,                 -- fitted parameters with standard errors; no pickles
    metrics      JSON NOT NULL,                 -- log-likelihood, hold-out errors, AUC, Brier...
    n_customers  BIGINT NOT NULL,
    scored       BOOLEAN NOT NULL
);

CREATE TABLE predictions (
    run_id                VARCHAR NOT NULL,
    customer_id           VARCHAR NOT NULL,
    kind                  VARCHAR NOT NULL,     -- clv | churn, as its run
    p_alive               DOUBLE,
    expected_transactions DOUBLE,               -- over the run's horizon
    expected_order_value  DOUBLE,
    expected_spend        DOUBLE,               -- over the horizon, undiscounted
    clv                   DOUBLE,               -- discounted, over the horizon
    clv_low               DOUBLE,
    clv_high              DOUBLE,
    next_purchase_on      DATE,                 -- NULL: a next purchase is less likely than not
    churn_probability     DOUBLE,
    PRIMARY KEY (run_id, customer_id)
);

-- The current predictions of each customer: latest scored CLV run and latest churn run.
CREATE VIEW customer_predictions AS
WITH latest AS (
    SELECT kind, arg_max(run_id, created_at) AS run_id
    FROM prediction_runs WHERE scored GROUP BY kind
), clv AS (
    SELECT p.* FROM predictions p JOIN latest l ON l.kind = 'clv' AND p.run_id = l.run_id
), churn AS (
    SELECT p.* FROM predictions p JOIN latest l ON l.kind = 'churn' AND p.run_id = l.run_id
)
SELECT coalesce(clv.customer_id, churn.customer_id) AS customer_id,
       clv.p_alive, clv.expected_transactions, clv.expected_order_value, clv.expected_spend,
       clv.clv, clv.clv_low, clv.clv_high, clv.next_purchase_on,
       churn.churn_probability,
       clv.run_id AS clv_run_id, churn.run_id AS churn_run_id
FROM clv FULL OUTER JOIN churn ON clv.customer_id = churn.customer_id;
