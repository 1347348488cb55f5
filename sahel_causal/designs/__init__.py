"""Design runners: ``sahel_causal.designs.<design>`` fits a model of that design (pure functions)."""
