-- Drift detection (issue 15): each run's reference sketches, kept so that drift is tested
-- without the reference data, and the history of drift checks.
CREATE TABLE run_sketches (
    run_id       VARCHAR NOT NULL,
    feature      VARCHAR NOT NULL,
    kind         VARCHAR NOT NULL,              -- numeric | categorical
    sketch       JSON NOT NULL,                 -- audience.mlops.sketches, as JSON
    PRIMARY KEY (run_id, feature)
);

CREATE TABLE drift_checks (
    check_id      VARCHAR PRIMARY KEY,
    run_id        VARCHAR NOT NULL,
    checked_at    TIMESTAMP NOT NULL,
    dataset_drift BOOLEAN NOT NULL,
    share         DOUBLE NOT NULL,              -- share of drifted features
    results       JSON NOT NULL                 -- the whole report, as `audience drift --json`
);
