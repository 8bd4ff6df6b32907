"""Reading a model's states: the Trace (NumPy only), the tracer and its compiled step loops, in-context reads of
a long stream, whole-corpus extraction, ablation (re-running with cells replaced) and sampling."""
