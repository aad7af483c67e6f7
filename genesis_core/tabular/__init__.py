"""Synthetic-data lab: ingestion and schema, generators (SDV and DP), quality and privacy reports."""

from genesis_core.tabular.sdk import PrivacyConfig, SyntheticGenerator  # noqa: E402  the seed's interface

__all__ = ["PrivacyConfig", "SyntheticGenerator"]
