"""Audience: an open-source audience segmentation engine.

Collect events and files, clean them into one profile per person, store them in a
warehouse, build segments that come with reasons, and activate them.

What a notebook needs is importable from here::

    import audience

    ws = audience.Workspace.init(path)
    audience.import_file(ws, "customers", path / "customers.csv")
    with ws.warehouse() as warehouse, warehouse.transaction() as con:
        audience.clean_workspace(con, ws.config, ws.clock.now())
        run = audience.run_segmentation(con, ws.config, clock=ws.clock)

Each name is imported from its module on first use (PEP 562): ``import audience`` itself
loads neither a stage nor numpy, pandas, scikit-learn or DuckDB, so the command line starts
fast. Type checkers read ``__init__.pyi``, which imports every name where it lives; the
stages re-export theirs too (``from audience.segmentation import AutoSegmenter``).
"""

from __future__ import annotations

from audience.lazy_exports import lazy_exports

__version__ = "0.1.0"

__all__ = [
    "AmbiguousPersonError",
    "AudienceError",
    "AutoKMeans",
    "AutoSegmenter",
    "BetaGeoModel",
    "ClusterUnavailableError",
    "ClvOptions",
    "ConfigError",
    "DBSCANSegments",
    "EmptyInputError",
    "EncodingError",
    "EngineUnavailableError",
    "ExperimentError",
    "FeatureSpace",
    "FixedClock",
    "GammaGammaModel",
    "HDBSCANSegments",
    "InputError",
    "LiveEvaluator",
    "MappingError",
    "MergeRefusedError",
    "MigrationError",
    "MiniBatchSegments",
    "MixtureSegments",
    "ModelError",
    "NotFoundError",
    "NotInExperimentError",
    "ParetoNBDModel",
    "PayloadTooLargeError",
    "PoisonEventError",
    "QuarantineLimitError",
    "QueueFullError",
    "QueueUnavailableError",
    "RFMSegmenter",
    "RegistryError",
    "RequestRejectedError",
    "SegmentRun",
    "SystemClock",
    "TrackingUnavailableError",
    "TransientError",
    "UnauthorizedError",
    "UnknownExperimentError",
    "UnknownSourceError",
    "UnsupportedFormatError",
    "WardSegments",
    "WarehouseError",
    "Workspace",
    "WorkspaceNotFoundError",
    "clean_workspace",
    "cohort_table",
    "compute_features",
    "customer_summary",
    "evaluate",
    "generate",
    "import_file",
    "load_activation",
    "load_run",
    "run_churn",
    "run_clv",
    "run_segmentation",
    "why",
    "write_run_report",
]

# Where each public name lives, relative to this package. The stub __init__.pyi imports
# the same names from the same modules (tests/test_public_api.py checks that they agree).
_ORIGIN = {
    # A workspace and its clock
    "Workspace": "store.workspace",
    "FixedClock": "store.clock",
    "SystemClock": "store.clock",
    # Data in: demo data, file import, cleaning, features
    "generate": "ingest.demo.generate",
    "import_file": "ingest.importer",
    "clean_workspace": "quality.clean",
    "compute_features": "features.behaviour",
    # Segmentation: the whole run, the estimators, stored runs, explanations
    "run_segmentation": "pipelines.segment_run",
    "write_run_report": "pipelines.run_report",
    "why": "pipelines.why",
    "SegmentRun": "model.runs",
    "AutoSegmenter": "segmentation.selection",
    "AutoKMeans": "segmentation.kmeans",
    "MiniBatchSegments": "segmentation.algorithms",
    "WardSegments": "segmentation.hierarchical",
    "DBSCANSegments": "segmentation.density",
    "HDBSCANSegments": "segmentation.density",
    "MixtureSegments": "segmentation.mixture",
    "RFMSegmenter": "segmentation.rfm",
    "FeatureSpace": "segmentation.space",
    "load_run": "segmentation.stored_runs",
    # Predictions: CLV models and runs, churn, cohorts
    "BetaGeoModel": "predictive.bgnbd",
    "ParetoNBDModel": "predictive.pnbd",
    "GammaGammaModel": "predictive.gamma_gamma",
    "customer_summary": "predictive.purchases",
    "ClvOptions": "predictive.clv",
    "run_clv": "predictive.clv",
    "run_churn": "predictive.churn",
    "cohort_table": "predictive.cohorts",
    # Rule segments
    "load_activation": "rules.loading",
    "evaluate": "rules.evaluate",
    "LiveEvaluator": "rules.live_evaluator",
    # Errors: one tree, rooted at AudienceError
    "AudienceError": "errors",
    "ConfigError": "errors",
    "WorkspaceNotFoundError": "errors",
    "InputError": "errors",
    "UnsupportedFormatError": "errors",
    "EmptyInputError": "errors",
    "EncodingError": "errors",
    "MappingError": "errors",
    "QuarantineLimitError": "errors",
    "AmbiguousPersonError": "errors",
    "RequestRejectedError": "errors",
    "UnauthorizedError": "errors",
    "PayloadTooLargeError": "errors",
    "UnknownSourceError": "errors",
    "NotFoundError": "errors",
    "PoisonEventError": "errors",
    "MergeRefusedError": "errors",
    "ExperimentError": "errors",
    "UnknownExperimentError": "errors",
    "NotInExperimentError": "errors",
    "WarehouseError": "errors",
    "MigrationError": "errors",
    "ModelError": "errors",
    "TransientError": "errors",
    "QueueFullError": "errors",
    "QueueUnavailableError": "errors",
    "RegistryError": "errors",
    "TrackingUnavailableError": "errors",
    "EngineUnavailableError": "errors",
    "ClusterUnavailableError": "errors",
}


__getattr__, __dir__ = lazy_exports(__name__, _ORIGIN, __all__)
