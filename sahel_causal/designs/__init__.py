"""Study designs: ``run(spec, panel, *, progress=None) -> result`` per design (pure, deterministic)."""
