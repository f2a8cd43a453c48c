"""Audience: an open-source audience segmentation engine.

Collect events and files, clean them into one profile per person, store them in a
warehouse, build segments that come with reasons, and activate them.
"""

from __future__ import annotations

__version__ = "0.1.0"
