"""ML Ops: run tracking (MLflow), the champion registry, segment matching across runs, the
promotion rule of recalibration (and drift, in its own modules).

A stage like the others: it imports only the core. What needs another stage's code (the
pyfunc model that rebuilds a segmentation run's assigner, a recalibration that refits) lives
in :mod:`audience.pipelines`.
"""
