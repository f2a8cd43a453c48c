"""Charts of the predictive stage as PNG data URIs, for the HTML report and ``--plot``.

Drawn with the helpers of :mod:`audience.plotting` (figures outside pyplot, PNG data
URIs); the charts themselves belong to the predictive stage.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from audience.plotting import data_uri, new_figure, png_bytes

__all__ = ["cohort_heatmap", "png_bytes", "tracking_chart"]


def tracking_chart(series: dict[str, Any], title: str = "Cumulative repeat transactions") -> str:
    """Actual vs expected cumulative repeat purchases, with the calibration end marked."""
    weeks = np.array(series["week_end"], dtype="datetime64[D]")
    figure, axis = new_figure(8, 4.5)
    axis.plot(weeks, series["actual_cumulative"], color="black", label="actual")
    axis.plot(weeks, series["expected_cumulative"], color="tab:blue", linestyle="--", label="model")
    end = np.datetime64(series["calibration_end"])
    axis.axvline(end, color="grey", linestyle=":", label="end of calibration")  # type: ignore[arg-type]
    axis.set_ylabel("repeat transactions (cumulative)")
    axis.set_title(title)
    axis.legend(frameon=False)
    axis.spines[["top", "right"]].set_visible(False)
    figure.autofmt_xdate()
    return data_uri(figure)


def cohort_heatmap(table: dict[str, Any]) -> str:
    """Acquisition cohorts (rows) by periods since acquisition (columns), coloured by metric."""
    values = np.array(
        [[np.nan if v is None else v for v in row["values"]] for row in table["cohorts"]],
        dtype=np.float64,
    ).reshape(len(table["cohorts"]), -1)
    labels = [row["cohort"] for row in table["cohorts"]]
    metric = table["metric"]
    shown = values * 100 if metric == "retention" else values
    figure, axis = new_figure(1.5 + 0.45 * max(shown.shape[1], 4), 1.2 + 0.32 * max(len(labels), 3))
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
    return data_uri(figure)
