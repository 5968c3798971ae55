"""Topographic-map teachers, valence/arousal prototype export and distillation into face models."""
