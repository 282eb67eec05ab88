"""Text frontend: normalisation, phonemisation (pluggable backends), symbols, and its settings
(:mod:`.config`: ``TextConfig``). Pure Python."""
