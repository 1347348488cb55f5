"""File-writing edges of the pipeline: one module per output task (see the integration contract)."""
