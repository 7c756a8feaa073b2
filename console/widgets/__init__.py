"""Console widgets, one per file."""
