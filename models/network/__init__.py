"""The networks themselves: the model and its config, checkpoints (safetensors + JSON), the vocabulary, a Keras-
style summary, and the plain NumPy cell equations the tracer is held against."""
