"""Use cases: one module per capability, each call taking a principal first."""
