"""Bringing in models rnnscope did not train: one module per source framework (torch_import.py)."""
