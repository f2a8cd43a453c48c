"""Autoencoder segmentation: training time per epoch, and assignment of 1,000,000 customers.

    python bench/deep.py [--customers 1000000] [--train 100000] [--epochs 5] [--repeats 3]

Data: a synthetic matrix of ``--customers`` rows and 20 features (7 Gaussian groups, two
columns log-normal like spend and orders), fed to the product's FeatureSpace.

Training (on ``--train`` of the customers, one thread as the product trains): an
:class:`AutoencoderEmbedding` with one latent size (6) for ``--epochs`` epochs without early
stopping, timed ``--repeats`` times; reported per epoch. Baseline in the same run: fitting the
FeatureSpace's PCA (95% of the variance) on the same rows -- what the default method does
instead of training.

Assignment (on every customer, at most 2 BLAS threads -- the machine's 2 cores):
``SegmentAssigner.predict`` from raw features to a segment, for PCA + k-means (the default
method, the baseline) and for autoencoder + k-means (k = 7 both), each ``--repeats`` times;
reported as median and spread of the time, customers per second and the ratio to the baseline.
Absolute times on a shared machine are noisy: read the ratios.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

import numpy as np
import pandas as pd
from sklearn.datasets import make_blobs
from threadpoolctl import threadpool_limits

from audience.segmentation.algorithms import ModelSettings, make_model
from audience.segmentation.assign import SegmentAssigner
from audience.segmentation.autoencoder import AutoencoderEmbedding
from audience.segmentation.space import FeatureSpace


def _data(n: int, seed: int) -> pd.DataFrame:
    X, _ = make_blobs(n_samples=n, centers=7, n_features=20, cluster_std=1.5, random_state=seed)
    X[:, 0] = np.exp(X[:, 0] / 4)  # spend-like
    X[:, 1] = np.round(np.exp(X[:, 1] / 6))  # orders-like
    return pd.DataFrame(X, columns=[f"f{j:02d}" for j in range(20)])


def _timed(fn: Callable[[], object], repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def _line(label: str, times: list[float], per: float = 1.0, unit: str = "s") -> str:
    med = statistics.median(times) / per
    spread = (max(times) - min(times)) / per
    return f"{label:<34} median {med:9.4f} {unit}  spread {spread:8.4f} {unit}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--train", type=int, default=100_000)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    frame = _data(args.customers, args.seed)
    train = frame.sample(n=min(args.train, len(frame)), random_state=args.seed)

    space = FeatureSpace()
    scaled = pd.DataFrame(space.fit_scaled(train), columns=space.kept_features_)
    encoder = AutoencoderEmbedding(
        latent_dims=(6,), max_epochs=args.epochs, patience=args.epochs + 1, min_customers=1
    )

    def fit_encoder() -> None:
        encoder.fit(scaled)

    def fit_pca() -> None:
        FeatureSpace().fit(train)

    print(f"\ntraining on {len(train):,} customers, {scaled.shape[1]} scaled features")
    import torch  # noqa: F401 -- imported before timing: the first fit would pay for it

    ae_times = _timed(fit_encoder, args.repeats)
    epochs = encoder.candidates_[0].epochs
    pca_times = _timed(fit_pca, args.repeats)
    print(_line(f"autoencoder, per epoch ({epochs} run)", ae_times, per=epochs))
    print(_line("baseline: FeatureSpace + PCA fit", pca_times))
    ratio = statistics.median(ae_times) / epochs / statistics.median(pca_times)
    print(f"one epoch costs {ratio:.1f}x the whole PCA fit")
    print(
        f"reconstruction error (train/validation): {encoder.train_error_:.4f} / "
        f"{encoder.validation_error_:.4f}"
    )

    settings = ModelSettings(random_state=0)
    pca_X = space.transform(train)
    pca_assigner = SegmentAssigner(space, make_model("kmeans", 7, settings).fit(pca_X))
    latent = encoder.transform(scaled)
    deep_assigner = SegmentAssigner(space, make_model("kmeans", 7, settings).fit(latent), encoder)
    print(f"\nassigning {len(frame):,} customers (raw features -> segment), 2 threads")
    with threadpool_limits(limits=2):
        base = _timed(lambda: pca_assigner.predict(frame), args.repeats)
        deep = _timed(lambda: deep_assigner.predict(frame), args.repeats)
    for label, times in (("baseline: PCA + k-means", base), ("autoencoder + k-means", deep)):
        rate = len(frame) / statistics.median(times)
        print(f"{_line(label, times)}  {rate:12,.0f} customers/s")
    print(
        f"autoencoder assignment takes {statistics.median(deep) / statistics.median(base):.2f}x "
        "the baseline's time"
    )
    print(f"load average at end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
