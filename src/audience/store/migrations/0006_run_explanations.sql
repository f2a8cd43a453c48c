-- What a segmentation run found beyond its metrics: the surrogate tree's rules and fidelity,
-- and the representativeness tests of its sample and groups.
ALTER TABLE segment_runs ADD COLUMN explanation JSON;
ALTER TABLE segment_runs ADD COLUMN bias JSON;
