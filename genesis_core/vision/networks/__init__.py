"""The image lab's networks, one file per family (pure nn.Modules with their losses).
"""
