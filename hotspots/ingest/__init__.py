"""Getting reports in: readers, validation, coordinates, timestamps, conflicts and the import pipeline."""
