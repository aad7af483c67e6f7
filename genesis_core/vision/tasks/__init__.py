"""The image lab's training tasks on the shared Trainer, registered by name.
"""
