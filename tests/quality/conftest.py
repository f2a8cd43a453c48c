"""The demo's customers.csv beside its ground truth, for scoring the normalisers."""

from __future__ import annotations

import pandas as pd
import pytest

from audience.ingest.demo.generate import GeneratedFiles


@pytest.fixture(scope="session")
def crm(demo_files: GeneratedFiles) -> pd.DataFrame:
    """Every column of customers.csv as text ('' when empty) and, on the same row, its truth."""
    customers = pd.read_csv(demo_files.customers, sep=";", dtype=str, keep_default_na=False)
    truth = pd.read_csv(demo_files.ground_truth, dtype=str, keep_default_na=False)
    merged = customers.merge(truth, left_on="id_client", right_on="customer_ref", how="inner")
    assert len(merged) == len(customers) == len(truth)
    return merged
