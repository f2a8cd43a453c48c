"""Runs as MLflow pyfunc models, rebuilt from the run's stored JSON (never a pickle).

A segmentation run is logged with its JSON document (the fitted feature space and model,
its segments' ids and names) as an artefact, and with a three-line code file (MLflow's
"models from code") that hands :class:`SegmentsModel` to ``mlflow.models.set_model``. Loading
``models:/audience-segments@champion`` reads the JSON and rebuilds the same
:class:`~audience.segmentation.assign.SegmentAssigner` the warehouse run uses, so MLflow,
batch and live assign alike, whatever scikit-learn version loads it.

MLflow is imported by this module: import it only where MLflow is installed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from mlflow.pyfunc.model import PythonModel

from audience.segmentation.assign import SegmentAssigner
from audience.segmentation.labels import NOISE
from audience.segmentation.maps import NOISE_NAME

RUN_ARTIFACT = "run"
"""Key of the run's JSON document among the pyfunc's artefacts."""

ENTRY_CODE = """\
from mlflow.models import set_model

from audience.pipelines.pyfunc_models import SegmentsModel

set_model(SegmentsModel())
"""
"""The models-from-code file logged with every segmentation model."""


def segments_document(run_id: str, model: dict[str, Any], segments: list[dict[str, Any]]) -> str:
    """The JSON a :class:`SegmentsModel` loads: the run's model and its segments' names."""
    return json.dumps({"run_id": run_id, "model": model, "segments": segments})


class SegmentsModel(PythonModel):
    """Feature frame (raw features by name) -> segment label, id and name per row."""

    def load_context(self, context: Any) -> None:
        document = json.loads(Path(context.artifacts[RUN_ARTIFACT]).read_text(encoding="utf-8"))
        self.load_document(document)

    def load_document(self, document: dict[str, Any]) -> None:
        self.run_id = str(document["run_id"])
        self.assigner = SegmentAssigner.from_json(document["model"])
        self.segments = {
            int(s["label"]): (str(s["segment_id"]), str(s["name"])) for s in document["segments"]
        }
        # A density model's noise (-1) is stored as the run's last segment, named so.
        noise = [label for label, (_, name) in self.segments.items() if name == NOISE_NAME]
        self.noise_label = noise[0] if noise else NOISE

    def predict(
        self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> pd.DataFrame:
        frame = pd.DataFrame(model_input).reindex(columns=self.assigner.features)
        labels = self.assigner.predict(frame.astype(float))
        labels = np.where(labels == NOISE, self.noise_label, labels)
        named = [self.segments.get(int(label), ("", "")) for label in labels]
        return pd.DataFrame(
            {
                "segment_label": labels,
                "segment_id": [segment_id for segment_id, _ in named],
                "segment": [name for _, name in named],
            }
        )


CLV_ENTRY_CODE = """\
from mlflow.models import set_model

from audience.pipelines.pyfunc_models import ClvModel

set_model(ClvModel())
"""
"""The models-from-code file logged with every CLV model."""

CLV_INPUTS = ("frequency", "recency", "T", "mean_spend", "spend_frequency")
"""A customer's purchase summary in the model's time unit: repeat purchases, time from the
first to the last, age, mean spend of the repeat purchases and how many of them had a
positive amount (``audience.predictive.purchases.customer_summary``)."""


class ClvModel(PythonModel):
    """Customer frame (purchase summaries) -> probability alive, expected order value, CLV.

    Rebuilt from the run's stored parameters (their point estimates are exactly the fitted
    ones); the CLV interval, which needs the parameters' covariance, is left to the run.
    """

    def load_context(self, context: Any) -> None:
        document = json.loads(Path(context.artifacts[RUN_ARTIFACT]).read_text(encoding="utf-8"))
        self.load_document(document)

    def load_document(self, document: dict[str, Any]) -> None:
        from audience.config.predictive import TIME_UNIT_DAYS
        from audience.predictive.bgnbd import BetaGeoModel
        from audience.predictive.gamma_gamma import GammaGammaModel
        from audience.predictive.pnbd import ParetoNBDModel
        from audience.predictive.scoring import Horizon

        self.run_id = str(document["run_id"])
        transactions, spend, options = (
            document["model"]["transactions"],
            document["model"]["spend"],
            document["options"],
        )
        kind = BetaGeoModel if transactions["model"] == BetaGeoModel.label else ParetoNBDModel
        self.transactions = _with_estimates(kind(), transactions)
        self.spend = _with_estimates(GammaGammaModel(), spend)
        self.horizon = Horizon.from_days(
            float(options["horizon_days"]),
            TIME_UNIT_DAYS[options["time_unit"]],
            float(options["discount_rate"]),
        )

    def predict(
        self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> pd.DataFrame:
        from audience.predictive.scoring import discounted_if_alive

        frame = pd.DataFrame(model_input)
        X = frame[["frequency", "recency", "T"]].to_numpy(dtype=float)
        spend_x = (
            frame["spend_frequency"].to_numpy(dtype=float)
            if "spend_frequency" in frame
            else X[:, 0]
        )
        p_alive = self.transactions.p_alive(X)
        value = self.spend.conditional_expected_value(
            spend_x, frame["mean_spend"].to_numpy(dtype=float)
        )
        discounted = discounted_if_alive(self.transactions, X[:, 0], X[:, 2], self.horizon)
        return pd.DataFrame(
            {"p_alive": p_alive, "expected_order_value": value, "clv": p_alive * discounted * value}
        )


def _with_estimates(model: Any, summary: dict[str, Any]) -> Any:
    """A CLV model set to stored point estimates (the log-parameters it is fitted as)."""
    model.log_params_ = np.log([summary["parameters"][n]["estimate"] for n in model.names])
    return model
