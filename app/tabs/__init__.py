"""The tools under the heatmap, one module per tab: Cells, Probes, Ablation, Explain, Saturation, Match, Coloured
text, Compare, Timeline, Model."""
