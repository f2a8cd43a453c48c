-- Experiments on segments and segment holdouts.
--
-- Exposures are not a table of their own: they are Segment `Experiment Viewed` track events in
-- `events` (properties experiment_id, variation_id), written by `audience experiment assign`
-- and by the HTTP assignment through the collector. One record of what a person saw serves the
-- batch, live and HTTP paths, flows through the same event log, identity resolution
-- (person_events) and erasure as every other event, and an e-mail tool's own exposure events
-- count without a copy. The view below reads them as one row per (experiment, person).

CREATE TABLE experiments (
    name          VARCHAR PRIMARY KEY,
    segment_id    VARCHAR NOT NULL,             -- rule:<name> or a stored segment's id
    segment       VARCHAR NOT NULL,             -- the segment as the user named it
    variants      JSON NOT NULL,                -- [{"name": "control", "weight": 50}, ...], control first
    holdout       DOUBLE NOT NULL,              -- percent of the experiment's persons kept out
    metric        VARCHAR NOT NULL,             -- conversion | revenue | orders | open | click | <event>
    guardrails    JSON NOT NULL,                -- more metrics, watched, not decided on
    window_days   INTEGER NOT NULL,             -- metric window after exposure
    lookback_days INTEGER NOT NULL,             -- pre-period for CUPED
    salt          VARCHAR NOT NULL,
    namespace     VARCHAR NOT NULL,
    range_start   DOUBLE NOT NULL,              -- the experiment's share of its namespace
    range_end     DOUBLE NOT NULL,
    status        VARCHAR NOT NULL,             -- running | stopped
    created_at    TIMESTAMP NOT NULL,
    stopped_at    TIMESTAMP
);

-- Holdouts of rule and cluster segments (`holdout: 5%`): who is held out is decided by the
-- bucket of (holdout:<segment_id>, person), so only the share is kept here.
CREATE TABLE segment_holdouts (
    segment_id    VARCHAR PRIMARY KEY,
    percent       DOUBLE NOT NULL,
    window_days   INTEGER NOT NULL,             -- conversion window of `audience lift`
    updated_at    TIMESTAMP NOT NULL
);

CREATE VIEW experiment_exposures AS
SELECT properties->>'experiment_id' AS experiment,
       customer_id,
       arg_min(properties->>'variation_id', "timestamp") AS variant,
       min("timestamp") AS exposed_at
FROM person_events
WHERE type = 'track' AND event = 'Experiment Viewed'
  AND properties->>'experiment_id' IS NOT NULL AND customer_id IS NOT NULL
GROUP BY ALL;
