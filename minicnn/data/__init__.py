"""minicnn.data: datasets and loaders."""
