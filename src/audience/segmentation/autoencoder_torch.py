"""What needs PyTorch: training one autoencoder candidate, and the weight files.

Imported only by :meth:`AutoencoderEmbedding.fit <audience.segmentation.autoencoder.
AutoencoderEmbedding.fit>` and by :func:`save_embedding` / :func:`load_embedding`, never by
``import audience`` or the CLI's ``--help``.

Determinism: one intra-op thread (a reduction split over threads sums in a different order),
``torch.use_deterministic_algorithms``, and a seeded generator for the weights and for the
order of mini-batches; both are restored after training so the caller's settings stay as
they were.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from audience.errors import ModelError
from audience.segmentation.autoencoder import (
    LAYERS,
    AutoencoderEmbedding,
    LatentCandidate,
    import_torch,
)

CONFIG_FILE = "autoencoder.json"
WEIGHTS_FILE = "autoencoder.pt"
MIN_IMPROVEMENT = 1e-3
"""A validation error at least 0.1% lower than the best so far resets the patience."""


def _network(torch: Any, n_features: int, hidden: int, latent: int) -> Any:
    nn = torch.nn
    return nn.ModuleDict(
        {
            "enc_hidden": nn.Linear(n_features, hidden),
            "enc_latent": nn.Linear(hidden, latent),
            "dec_hidden": nn.Linear(latent, hidden),
            "dec_output": nn.Linear(hidden, n_features),
        }
    )


def _forward(torch: Any, net: Any, X: Any) -> Any:
    z = net["enc_latent"](torch.tanh(net["enc_hidden"](X)))
    return net["dec_output"](torch.tanh(net["dec_hidden"](z)))


def train_candidate(
    torch: Any,
    params: AutoencoderEmbedding,
    train: NDArray[np.float64],
    val: NDArray[np.float64],
    latent: int,
) -> tuple[LatentCandidate, dict[str, NDArray[np.float64]]]:
    """Train one latent dimension with early stopping; the best epoch's weights as arrays."""
    threads = torch.get_num_threads()
    deterministic = torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    try:
        return _train(torch, params, train, val, latent)
    finally:
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(deterministic)


def _train(
    torch: Any,
    params: AutoencoderEmbedding,
    train: NDArray[np.float64],
    val: NDArray[np.float64],
    latent: int,
) -> tuple[LatentCandidate, dict[str, NDArray[np.float64]]]:
    # The same seed for every candidate, offset by the dimension: each is reproducible alone.
    torch.manual_seed(int(params.random_state) * 1_000 + latent)
    generator = torch.Generator().manual_seed(int(params.random_state) + latent)
    net = _network(torch, train.shape[1], params.hidden, latent)
    optimiser = torch.optim.Adam(net.parameters(), lr=params.learning_rate)
    X_train = torch.from_numpy(train.astype(np.float32))
    X_val = torch.from_numpy(val.astype(np.float32))
    best_val, best_state, since_best, epochs = float("inf"), None, 0, 0
    for epoch in range(1, params.max_epochs + 1):
        epochs = epoch
        net.train()
        for batch in torch.randperm(len(X_train), generator=generator).split(params.batch_size):
            optimiser.zero_grad()
            loss = torch.mean((_forward(torch, net, X_train[batch]) - X_train[batch]) ** 2)
            loss.backward()
            optimiser.step()
        with torch.no_grad():
            val_error = float(torch.mean((_forward(torch, net, X_val) - X_val) ** 2))
        if val_error < best_val * (1 - MIN_IMPROVEMENT):
            best_val, since_best = val_error, 0
            best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
        else:
            since_best += 1
            if since_best >= params.patience:
                break
    if best_state is None:  # the loss never became finite
        raise ModelError(
            "the autoencoder did not learn (its validation error is not finite); "
            "lower learning_rate or check the features for extreme values"
        )
    net.load_state_dict(best_state)
    with torch.no_grad():
        train_error = float(torch.mean((_forward(torch, net, X_train) - X_train) ** 2))
    weights = {k: v.numpy().astype(np.float64) for k, v in best_state.items()}
    return LatentCandidate(latent, train_error, best_val, epochs), weights


def save_embedding(model: AutoencoderEmbedding, directory: Path) -> None:
    """Write ``autoencoder.json`` (the config) and ``autoencoder.pt`` (a ``state_dict`` of
    tensors only) into ``directory``."""
    torch = import_torch()
    directory.mkdir(parents=True, exist_ok=True)
    (directory / CONFIG_FILE).write_text(json.dumps(model.config(), indent=2), encoding="utf-8")
    state = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in model.weights_.items()}
    torch.save(state, directory / WEIGHTS_FILE)


def load_embedding(directory: Path) -> AutoencoderEmbedding:
    """The inverse of :func:`save_embedding`; the weights load with ``weights_only=True``, so a
    file holding anything but tensors is refused rather than executed."""
    torch = import_torch()
    config_path, weights_path = directory / CONFIG_FILE, directory / WEIGHTS_FILE
    for path in (config_path, weights_path):
        if not path.is_file():
            raise ModelError(f"{path} is missing; save the model with save_embedding first")
    try:
        state = torch.load(weights_path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises UnpicklingError and others for foreign files
        raise ModelError(f"{weights_path} is not an autoencoder state_dict: {exc}") from exc
    config = json.loads(config_path.read_text(encoding="utf-8"))
    weights = {k: v.numpy().astype(np.float64) for k, v in state.items()}
    return AutoencoderEmbedding.from_parts(config, weights)


__all__ = ["LAYERS", "load_embedding", "save_embedding", "train_candidate"]
