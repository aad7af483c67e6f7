"""`genesis ...` (or `python -m genesis_core`): one module per command group.
"""
