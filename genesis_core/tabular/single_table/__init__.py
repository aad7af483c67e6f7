"""Single-table generators behind one interface (the base), with constraints, SDV's synthesizers,
DP-TVAE, MST, the column-autoregressive generator, conditions, privacy accounting and `auto`.
"""
