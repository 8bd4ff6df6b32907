"""What a cell causes: ablation ranking by the rise in held-out loss, and causal codes by interchange interventions."""
