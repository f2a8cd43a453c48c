"""Charts of the predictive stage as PNG data URIs, for the HTML report and ``--plot``.

Drawn with matplotlib's non-interactive backend, like :mod:`audience.report.charts`; kept
here so that the predictive stage does not reach into the report's internals.
"""

from __future__ import annotations

import base64
import io
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display on servers; must precede pyplot
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure


def png_bytes(data_uri: str) -> bytes:
    """The PNG inside a data URI, to write it to a file."""
    return base64.b64decode(data_uri.split(",", 1)[1])


def _data_uri(figure: Figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(figure)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def tracking_chart(series: dict[str, Any], title: str = "Cumulative repeat transactions") -> str:
    """Actual vs expected cumulative repeat purchases, with the calibration end marked."""
    weeks = np.array(series["week_end"], dtype="datetime64[D]")
    figure, axis = plt.subplots(figsize=(8, 4.5))
    axis.plot(weeks, series["actual_cumulative"], color="black", label="actual")
    axis.plot(weeks, series["expected_cumulative"], color="tab:blue", linestyle="--", label="model")
    end = np.datetime64(series["calibration_end"])
    axis.axvline(end, color="grey", linestyle=":", label="end of calibration")  # type: ignore[arg-type]
    axis.set_ylabel("repeat transactions (cumulative)")
    axis.set_title(title)
    axis.legend(frameon=False)
    axis.spines[["top", "right"]].set_visible(False)
    figure.autofmt_xdate()
    return _data_uri(figure)


def cohort_heatmap(table: dict[str, Any]) -> str:
    """Acquisition cohorts (rows) by periods since acquisition (columns), coloured by metric."""
    values = np.array(
        [[np.nan if v is None else v for v in row["values"]] for row in table["cohorts"]],
        dtype=np.float64,
    ).reshape(len(table["cohorts"]), -1)
    labels = [row["cohort"] for row in table["cohorts"]]
    metric = table["metric"]
    shown = values * 100 if metric == "retention" else values
    figure, axis = plt.subplots(
        figsize=(1.5 + 0.45 * max(shown.shape[1], 4), 1.2 + 0.32 * max(len(labels), 3))
    )
    image = axis.imshow(np.ma.masked_invalid(shown), cmap="YlGnBu", aspect="auto")
    axis.set_xticks(range(shown.shape[1]))
    axis.set_yticks(range(len(labels)), labels=labels, fontsize=7)
    axis.set_xlabel(f"{table['by']}s since first order")
    axis.set_ylabel("cohort")
    if shown.size <= 400:
        fmt = "{:.0f}%" if metric == "retention" else "{:,.0f}"
        dark = np.nanmax(shown) * 0.6
        for i, j in zip(*np.nonzero(np.isfinite(shown)), strict=True):
            axis.text(
                j,
                i,
                fmt.format(shown[i, j]),
                ha="center",
                va="center",
                fontsize=6,
                color="white" if shown[i, j] > dark else "black",
            )
    unit = "% of cohort active" if metric == "retention" else metric
    figure.colorbar(image, ax=axis, label=unit)
    axis.set_title(f"Cohorts by {table['by']}: {metric}")
    return _data_uri(figure)
