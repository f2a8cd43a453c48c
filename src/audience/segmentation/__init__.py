"""Segmentation: preprocessing, clustering with model selection, profiles and names."""
