"""Versioned releases of synthetic data: records, lineage, compliance evidence, drift.
"""
