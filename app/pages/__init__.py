"""The interactive pages and their state: the model page, the LSTMVis page, the state each keeps (one
Parameterized), the per-process caches, and how a sequence is picked."""
