"""Dataset readers (SEED, SEED-IV, DREAMER, recordings), label tables, feature extraction and the feature cache.

>>> from eegaffect.datasets import load_dataset
>>> ds = load_dataset("~/data/SEED", "seed")            # metadata only
>>> for trial in ds.select(subjects=[1], sessions=[1]):
...     x = trial.load()                                 # (n_times, 62) float64, read now
"""

from eegaffect.datasets.base import DatasetFormatError, EEGDataset, Trial, TrialInfo, read_annotation_csv
from eegaffect.datasets.labels import LabelMapConfig, resolve_label_map
from eegaffect.datasets.registry import DATASET_NAMES, detect_dataset, load_dataset, load_extracted_features

__all__ = [
    "DATASET_NAMES",
    "DatasetFormatError",
    "EEGDataset",
    "Trial",
    "TrialInfo",
    "detect_dataset",
    "load_dataset",
    "load_extracted_features",
    "read_annotation_csv",
    "LabelMapConfig",
    "resolve_label_map",
]
