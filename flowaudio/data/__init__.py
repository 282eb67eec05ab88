"""Data: manifests, datasets, collation, length bucketing and the teacher-voice corpus builder."""
