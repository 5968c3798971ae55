"""Offline benchmarking: leakage-free protocols, baselines, metrics and reports (`eegaffect bench seed`)."""
