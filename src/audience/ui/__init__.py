"""The dashboard: a face that renders what :mod:`audience.pipelines` reads from the warehouse.

Served under ``/ui`` by ``audience serve`` (with the live feed of the collector) and alone by
``audience ui``. Charts are drawn by Plotly's JavaScript, served from the ``plotly`` package.
"""

from __future__ import annotations

from audience.ui.app import create_dashboard_app, dashboard_router, mount_dashboard

__all__ = ["create_dashboard_app", "dashboard_router", "mount_dashboard"]
