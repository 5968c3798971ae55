"""Topographic-map teachers, valence/arousal prototype export and distillation into face models.

Modules (import them directly; this package imports nothing heavy):

- :mod:`~eegaffect.distill.topomap`: band features -> scalp maps, one precomputed matrix per montage (MNE's
  interpolation).
- :mod:`~eegaffect.distill.teacher`: the CNN teacher over maps (valence/arousal + embedding), its bundle, and the
  consolidation of held-out embeddings into prototypes.
- :mod:`~eegaffect.distill.prototypes`: the frozen valence x arousal prototype grid file (HDF5 / .npz, format 1).
- :mod:`~eegaffect.distill.faces`: FERPlus, class-folder and CSV-manifest face loaders; synthetic faces.
- :mod:`~eegaffect.distill.student`: the ResNet face student, its losses (CE, KD, Proto-KD, D-Geo) and metrics.
- :mod:`~eegaffect.distill.onnx_export`: ONNX export checked against onnxruntime.

See ``docs/distillation.md`` for the formulas and a CE-only vs Proto-KD/D-Geo comparison.
"""
