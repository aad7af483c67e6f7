"""A user's table in: reading CSV/Parquet, the stored uploads, the demos, column types (schema), and the
codec between a table and a generator.
"""
