"""The on-disk queue and what goes into it: ids, records, the Recorder, claims, inspection, purge."""
