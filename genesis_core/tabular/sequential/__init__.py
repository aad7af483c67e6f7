"""Sequences (rows of an entity in order): PAR and TimeGAN behind one interface.
"""
