-- The warehouse's own model registry: which run is the champion of each model, as history
-- (the latest row per model is the champion; a rollback appends the one before), and every
-- recalibration with the comparison that decided it.
CREATE TABLE model_champions (
    seq          BIGINT NOT NULL,      -- order of the decisions (times may tie)
    model        VARCHAR NOT NULL,
    run_id       VARCHAR NOT NULL,
    promoted_at  TIMESTAMP NOT NULL,
    action       VARCHAR NOT NULL,   -- promote | rollback | recalibrate
    reason       VARCHAR NOT NULL DEFAULT '',
    mlflow_version VARCHAR
);

CREATE TABLE recalibrations (
    decided_at    TIMESTAMP NOT NULL,
    model         VARCHAR NOT NULL,
    champion_run  VARCHAR,
    candidate_run VARCHAR NOT NULL,
    rule          VARCHAR NOT NULL,
    promoted      BOOLEAN NOT NULL,
    reason        VARCHAR NOT NULL,
    comparison    JSON NOT NULL
);
