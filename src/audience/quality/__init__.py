"""Data quality: normalisers, de-duplication, identity resolution, quarantine."""
