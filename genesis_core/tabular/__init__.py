"""Synthetic-data lab: ingestion and schema, generators (SDV and DP), quality and privacy reports."""
