"""Free-text columns written by the LM lab's byte-level Llama: windows, the model, the vocabulary,
what a text model must not give away.
"""
