"""Predictive segmentation: CLV (BG/NBD, Pareto/NBD, Gamma-Gamma), churn, cohorts.

Nothing is imported here so that :mod:`audience.config` can import the settings module
without pulling scipy and scikit-learn into every command.
"""
