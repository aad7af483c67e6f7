"""Language-model lab: bytes, corpora, device-resident loader, masking, Llama model, attention backends,
loss analytics and LR stun, evaluation."""
