"""An autoencoder whose latent space customers are clustered in (``autoencoder+<method>``).

:class:`AutoencoderEmbedding` follows scikit-learn's transformer contract. Its input is the
feature space's scaled features (:meth:`~audience.segmentation.space.FeatureSpace.scaled`:
imputed, logged, winsorised, standardised), so missing values are already handled there; a
NaN reaching it is refused with the column named.

Training (PyTorch, the optional ``deep`` extra, imported only inside :meth:`fit`): a tanh
hidden layer on each side of a linear bottleneck, Adam on the mean squared reconstruction
error, one thread, fixed seed and deterministic algorithms, so a seed gives the same weights
on every run. Each candidate latent dimension is trained with early stopping on a held-out
validation split; the chosen one is the *smallest* whose validation error is within
``tolerance`` of the best candidate's (a smaller space is easier to cluster and to read).

Inference is a few matrix products in NumPy: assigning customers, batch or live, needs no
PyTorch. The learnt weights are saved as arrays (JSON in the run record, or a ``state_dict``
file loaded with ``weights_only=True`` by :mod:`audience.segmentation.autoencoder_torch`),
never a pickle.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from audience.errors import ConfigError, ModelError

DEEP_INSTALL = "pip install 'audience[deep]'"
MIN_CUSTOMERS = 200
"""Fewest customers the pipeline trains on: below, the validation split is too small for
early stopping to mean anything."""
LAYERS = ("enc_hidden", "enc_latent", "dec_hidden", "dec_output")
"""The four linear layers, in order; each has ``<name>.weight`` and ``<name>.bias``."""


def deep_available() -> bool:
    """Whether the ``deep`` extra (PyTorch) is installed, without importing it."""
    return importlib.util.find_spec("torch") is not None


def import_torch() -> Any:
    """PyTorch, or a clear message naming the extra to install."""
    try:
        import torch
    except ImportError as exc:
        raise ConfigError(
            "autoencoder segmentation needs PyTorch, which is not installed; "
            f"install the extra with: {DEEP_INSTALL}"
        ) from exc
    return torch


@dataclass(frozen=True)
class LatentCandidate:
    """One latent dimension tried: its reconstruction errors (mean squared, per feature)."""

    latent_dim: int
    train_error: float
    validation_error: float
    epochs: int
    """Epochs run before early stopping (the best epoch's weights are kept)."""


class AutoencoderEmbedding(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """Customers' scaled features -> a low-dimensional latent space learnt by an autoencoder.

    Parameters
    ----------
    latent_dims : tuple of int, default=(2, 3, 4, 6, 8)
        Candidate latent dimensions (those above the number of features are skipped).
    hidden : int, default=32
        Units of the hidden layer on each side of the bottleneck.
    tolerance : float, default=0.05
        The smallest dimension whose validation error is within this share of the best wins.
    validation_share : float, default=0.2
        Customers held out for early stopping and the validation error.
    max_epochs : int, default=200
    patience : int, default=10
        Epochs without a 0.1% better validation error before training stops.
    batch_size : int, default=256
    learning_rate : float, default=0.005
    min_customers : int, default=MIN_CUSTOMERS
    random_state : int, default=0

    Attributes
    ----------
    latent_dim_ : int
    candidates_ : list of LatentCandidate
    train_error_, validation_error_ : float
        The chosen candidate's reconstruction errors.
    weights_ : dict of str to ndarray
        ``<layer>.weight`` (out x in) and ``<layer>.bias`` for every layer of :data:`LAYERS`.
    """

    def __init__(
        self,
        latent_dims: tuple[int, ...] = (2, 3, 4, 6, 8),
        hidden: int = 32,
        tolerance: float = 0.05,
        validation_share: float = 0.2,
        max_epochs: int = 200,
        patience: int = 10,
        batch_size: int = 256,
        learning_rate: float = 0.005,
        min_customers: int = MIN_CUSTOMERS,
        random_state: int = 0,
    ) -> None:
        self.latent_dims = latent_dims
        self.hidden = hidden
        self.tolerance = tolerance
        self.validation_share = validation_share
        self.max_epochs = max_epochs
        self.patience = patience
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.min_customers = min_customers
        self.random_state = random_state

    def fit(self, X: Any, y: Any = None) -> AutoencoderEmbedding:
        X = validate_data(self, X, dtype=np.float64, ensure_all_finite="allow-nan")
        self._refuse_missing(X)
        n = len(X)
        if n < self.min_customers:
            raise ModelError(
                f"the autoencoder needs at least {self.min_customers} customers to train and "
                f"validate on, got n_samples = {n}; segment with a method without "
                "'autoencoder+' or import more customers"
            )
        if not 0 < self.validation_share < 1:
            raise ModelError(f"validation_share must be in (0, 1), got {self.validation_share}")
        torch = import_torch()
        from audience.segmentation.autoencoder_torch import train_candidate

        dims = sorted({d for d in self.latent_dims if 1 <= d <= X.shape[1]}) or [1]
        order = np.random.default_rng(self.random_state).permutation(n)
        n_val = max(1, round(n * self.validation_share))
        train, val = X[order[n_val:]], X[order[:n_val]]
        fitted = [train_candidate(torch, self, train, val, dim) for dim in dims]
        self.candidates_ = [candidate for candidate, _ in fitted]
        best = min(c.validation_error for c in self.candidates_)
        chosen = next(
            i
            for i, c in enumerate(self.candidates_)
            if c.validation_error <= best * (1 + self.tolerance)
        )
        self.latent_dim_ = self.candidates_[chosen].latent_dim
        self.train_error_ = self.candidates_[chosen].train_error
        self.validation_error_ = self.candidates_[chosen].validation_error
        self.weights_ = fitted[chosen][1]
        return self

    def transform(self, X: Any) -> NDArray[np.float64]:
        """Customers in the latent space (NumPy only)."""
        check_is_fitted(self, "weights_")
        X = validate_data(self, X, dtype=np.float64, ensure_all_finite="allow-nan", reset=False)
        self._refuse_missing(X)
        hidden = np.tanh(self._layer("enc_hidden", X))
        return self._layer("enc_latent", hidden)

    def inverse_transform(self, Z: Any) -> NDArray[np.float64]:
        """Latent points back to scaled features (the reconstruction)."""
        check_is_fitted(self, "weights_")
        Z = np.asarray(Z, dtype=np.float64)
        return self._layer("dec_output", np.tanh(self._layer("dec_hidden", Z)))

    def reconstruction_error(self, X: Any) -> float:
        """Mean squared reconstruction error per feature, as the candidates report it."""
        rebuilt = self.inverse_transform(self.transform(X))
        return float(np.mean((rebuilt - np.asarray(X, dtype=np.float64)) ** 2))

    def _refuse_missing(self, X: NDArray[np.float64]) -> None:
        """Refuse NaNs naming the column: the feature space imputes before the autoencoder."""
        missing = np.isnan(X).sum(axis=0)
        if not missing.any():
            return
        j = int(np.flatnonzero(missing)[0])
        names = getattr(self, "feature_names_in_", None)
        name = str(names[j]) if names is not None else f"column {j}"
        raise ModelError(
            f"feature '{name}' has {int(missing[j])} NaN value(s); the autoencoder takes the "
            "feature space's imputed, scaled features (FeatureSpace.scaled): impute first"
        )

    def _layer(self, name: str, X: NDArray[np.float64]) -> NDArray[np.float64]:
        result: NDArray[np.float64] = (
            X @ self.weights_[f"{name}.weight"].T + (self.weights_[f"{name}.bias"])
        )
        return result

    def get_feature_names_out(self, input_features: Any = None) -> NDArray[np.object_]:
        check_is_fitted(self, "weights_")
        return np.asarray([f"latent{i + 1}" for i in range(self.latent_dim_)], dtype=object)

    def describe(self) -> dict[str, Any]:
        """Reconstruction errors and why this latent dimension, for the run record."""
        check_is_fitted(self, "weights_")
        best = min(self.candidates_, key=lambda c: c.validation_error)
        return {
            "latent_dim": self.latent_dim_,
            "train_error": round(self.train_error_, 5),
            "validation_error": round(self.validation_error_, 5),
            "why": (
                f"smallest latent dimension whose validation reconstruction error "
                f"({self.validation_error_:.4f}) is within {self.tolerance:.0%} of the best "
                f"candidate's ({best.validation_error:.4f}, {best.latent_dim} dimensions)"
            ),
            "candidates": [
                {**asdict(c), **{k: round(getattr(c, k), 5) for k in _ERRORS}}
                for c in self.candidates_
            ],
            "architecture": f"{self.n_features_in_}-{self.hidden}-{self.latent_dim_} (tanh)",
        }

    def config(self) -> dict[str, Any]:
        """Everything but the weights, as JSON types."""
        check_is_fitted(self, "weights_")
        return {
            "params": {**self.get_params(), "latent_dims": list(self.latent_dims)},
            "n_features_in": int(self.n_features_in_),
            "feature_names": (
                [str(n) for n in self.feature_names_in_]
                if hasattr(self, "feature_names_in_")
                else None
            ),
            "latent_dim": int(self.latent_dim_),
            "candidates": [asdict(c) for c in self.candidates_],
        }

    def to_json(self) -> dict[str, Any]:
        """Config and weights as JSON types (the run record stores models this way)."""
        return {
            **self.config(),
            "weights": {name: array.tolist() for name, array in self.weights_.items()},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> AutoencoderEmbedding:
        weights = {k: np.asarray(v, dtype=np.float64) for k, v in data["weights"].items()}
        return cls.from_parts(data, weights)

    @classmethod
    def from_parts(
        cls, config: Mapping[str, Any], weights: Mapping[str, NDArray[np.float64]]
    ) -> AutoencoderEmbedding:
        """A fitted embedding from :meth:`config` and its weight arrays."""
        params = dict(config["params"])
        params["latent_dims"] = tuple(params["latent_dims"])
        model = cls(**params)
        expected = {f"{layer}.{part}" for layer in LAYERS for part in ("weight", "bias")}
        if set(weights) != expected:
            raise ModelError(
                f"stored autoencoder weights hold {sorted(weights)}, expected {sorted(expected)}; "
                "was the model saved by Audience?"
            )
        model.weights_ = {k: np.asarray(weights[k], dtype=np.float64) for k in sorted(expected)}
        model.n_features_in_ = int(config["n_features_in"])
        if config.get("feature_names") is not None:
            model.feature_names_in_ = np.asarray(config["feature_names"], dtype=object)
        model.latent_dim_ = int(config["latent_dim"])
        model.candidates_ = [LatentCandidate(**c) for c in config["candidates"]]
        chosen = next(c for c in model.candidates_ if c.latent_dim == model.latent_dim_)
        model.train_error_, model.validation_error_ = chosen.train_error, chosen.validation_error
        return model


_ERRORS = ("train_error", "validation_error")
