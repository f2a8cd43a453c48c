"""Consent, pseudonymisation, erasure, retention."""
