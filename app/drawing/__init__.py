"""Drawing one Frame (a trace as shown: cells ordered and filtered, tracks) as Bokeh figures: the heatmap, its
tracks and axes, coloured text, the model-to-model comparison, and the standalone HTML export. Used by the
page and by the export alike; no page state here."""
