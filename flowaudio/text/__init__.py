"""Text frontend: normalisation, phonemisation (pluggable backends), symbols. Pure Python."""
