"""sahel-causal: does U.S. security assistance to African states predict coups and violence?"""
__version__ = "0.1.0"
