"""Calcfunctions for derived quantities, so every number a paper quotes has provenance."""
