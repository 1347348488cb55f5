"""File-writing edges of the pipeline: one ``make(panel, results_dir, progress)`` per output."""
