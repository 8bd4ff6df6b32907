"""The LSTMVis page: a directory of LSTMVis states (states.h5, words.dict, meta tracks) shown as the model page
shows a trace, its source and its state."""
