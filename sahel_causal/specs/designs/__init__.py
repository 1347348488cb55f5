"""Design-specific specification parsers (one module per design; see the integration contract)."""
