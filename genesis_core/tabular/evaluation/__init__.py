"""How good and how private synthetic data is: quality, privacy, sequences, text, the report.
"""
