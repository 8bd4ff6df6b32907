"""What a cell does, read off its states: annotations (grammar and text), labels with their statistics, the
counts they are made of, saturation, clustering, model-to-model comparison, LSTMVis match, explain (the terms
of one value) and the oracle divergence."""
