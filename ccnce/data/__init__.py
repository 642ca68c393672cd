"""Data: PATS-layout reading, windowing, normalisation, caches, and the synthetic PATS generator."""
