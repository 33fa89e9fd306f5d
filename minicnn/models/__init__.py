"""minicnn.models: the model zoo."""
