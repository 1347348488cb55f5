"""Data layer: source registry, loaders, crosswalk, corrections and the panel builder."""
