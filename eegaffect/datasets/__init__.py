"""Dataset readers (SEED, SEED-IV, DREAMER, recordings), label tables, feature extraction and the feature cache."""
