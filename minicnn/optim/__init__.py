"""minicnn.optim: SGD, Adam and AdamW with PyTorch's exact update rules."""
