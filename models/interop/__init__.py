"""Models and states from elsewhere: importers for models rnnscope did not train, one module per source
framework (torch_import.py; keras_import.py, with keras_config.py reading a Keras model's layers; common.py
holds what both share), and the LSTMVis bridge (lstmvis.py: a Trace written as an LSTMVis project, and such
a project read back)."""
