"""Related tables joined by keys, synthesised together.
"""
