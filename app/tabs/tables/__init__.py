"""The tables the tabs draw anew with their rows (FreshTable), and the frames the whole-network views list their
cells in."""
