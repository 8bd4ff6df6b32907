"""How many held-out characters each analysis reads when none are asked for: the API's defaults, named here
(torch-free) so that the command line's help states the same numbers. Each is "or the whole held-out stream
when it is shorter" (rnnscope.Model.heldout_chars)."""

LABEL_CHARS = 100_000       # labels and probes: enough for MI's plug-in bias to be small (docs/methods.md)
COMPARE_CHARS = 20_000      # two models' cells paired by Pearson r
AUTOMATON_CHARS = 20_000    # the states k-means clusters into an automaton
DYNAMICS_CHARS = 20_000     # the fixed-point search's starts and the projection
