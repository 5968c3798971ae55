"""Leakage-free evaluation protocols: every split is by trial or by subject, never by window inside a trial.

=================== ========================================================================================
protocol            folds
=================== ========================================================================================
subject-dependent   one fold per (subject, session): the first ``n_train`` trials (by trial number) train,
                    the rest test. The literature's standard: SEED trials 1-9 / 10-15, SEED-IV 1-16 / 17-24.
                    DREAMER (one session of 18 clips, no standard split) and any dataset without a known
                    split and no explicit ``n_train`` fall back to k-fold by trial within each subject.
loso                leave-one-subject-out: one fold per subject, every other subject trains.
loso-calibrated     leave-one-subject-out with per-user calibration: every other subject trains; the first
                    ``n_calibration`` trials of the held-out subject (by session, then trial number; default 3)
                    calibrate the trained model (:mod:`eegaffect.calibration`) and only its other trials test.
                    Calibration trials are never scored.
cross-session       one fold per (subject, held-out session): the subject's other sessions train.
kfold               k-fold by trial within each subject (all its sessions pooled), stratified by class when
                    every trial has a class and every class has at least k trials; seeded shuffle.
=================== ========================================================================================

A trial is identified by ``(subject, session, trial)``; :func:`check_folds` asserts that no trial (and, for
``loso`` and ``loso-calibrated``, no subject) is on both sides of any fold, and that calibration trials are the
held-out subject's and never tested. Normalisation statistics are the models' business and are
fitted on the training side only (see :mod:`eegaffect.benchmark.interface`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

__all__ = ["PROTOCOLS", "CALIBRATED_PROTOCOLS", "CALIBRATED_SUFFIX", "DEFAULT_N_CALIBRATION",
           "STANDARD_N_TRAIN", "Fold", "make_folds", "check_folds", "trial_key"]

PROTOCOLS = ("subject-dependent", "loso", "cross-session", "kfold", "loso-calibrated")
#: Protocols whose folds have calibration trials.
CALIBRATED_PROTOCOLS = ("loso-calibrated",)
#: Appended to a model's name for its rows after per-user calibration (``loso-calibrated``): ``eegdancer+cal``.
CALIBRATED_SUFFIX = "+cal"
#: Calibration trials of the held-out subject in ``loso-calibrated`` unless told otherwise.
DEFAULT_N_CALIBRATION = 3

#: Training trials per session of the standard subject-dependent split, per dataset name.
STANDARD_N_TRAIN = {"seed": 9, "seed-iv": 16}


@dataclass(frozen=True)
class Fold:
    """One train/test split of trial indices.

    Attributes
    ----------
    protocol : str
        The protocol that made it.
    name : str
        Unique, stable id within the protocol (used to resume), e.g. ``"s3-sess2"``, ``"loso-s3"``.
    subject : Any
        The subject evaluated (the held-out subject for ``loso``).
    session : Any
        The session evaluated, or None when the test side spans sessions.
    index : int
        Fold number within its subject (0 when there is one fold per subject/session).
    train : tuple of int
        Indices (into the trial list) of the training trials.
    test : tuple of int
        Indices of the test trials.
    calibration : tuple of int
        Indices of the trials that calibrate the trained model before testing (``loso-calibrated``; empty
        otherwise). Never scored.
    """

    protocol: str
    name: str
    subject: Any
    session: Any
    index: int
    train: tuple[int, ...]
    test: tuple[int, ...]
    calibration: tuple[int, ...] = ()


def trial_key(info: Any) -> tuple:
    """The identity of a trial: ``(subject, session, trial)``."""
    return (info.subject, info.session, info.trial)


def _sort_key(value: Any) -> tuple:
    try:
        return (0, float(value), "")
    except (TypeError, ValueError):
        return (1, 0.0, str(value))


def make_folds(trial_infos: Sequence[Any], protocol: str, *, dataset: str | None = None,
               n_train: int | None = None, k: int = 5, seed: int = 0,
               n_calibration: int = DEFAULT_N_CALIBRATION) -> list[Fold]:
    """Build the folds of a protocol over a list of trials.

    Parameters
    ----------
    trial_infos : sequence of TrialInfo
        Trials with ``subject``, ``session``, ``trial`` and ``label`` attributes.
    protocol : {"subject-dependent", "loso", "cross-session", "kfold", "loso-calibrated"}
        See the module docstring.
    dataset : str | None
        Dataset name, used to pick the standard subject-dependent split (:data:`STANDARD_N_TRAIN`).
    n_train : int | None
        Training trials per session for ``subject-dependent``; None uses the dataset's standard.
    k : int
        Folds of ``kfold`` (and of the subject-dependent fallback).
    seed : int
        Seed of the ``kfold`` shuffle.
    n_calibration : int
        Calibration trials of the held-out subject in ``loso-calibrated``.

    Returns
    -------
    folds : list of Fold
        In a deterministic order (subjects and sessions sorted numerically where they are numbers).
    """
    if protocol not in PROTOCOLS:
        raise ValueError(f"protocol must be one of {list(PROTOCOLS)}, got {protocol!r}")
    infos = list(trial_infos)
    if not infos:
        raise ValueError("make_folds: expected at least one trial, got none")
    missing = [a for a in ("subject", "session", "trial", "label") if not hasattr(infos[0], a)]
    if missing:
        raise TypeError(f"make_folds: trial infos must have subject, session, trial and label; missing {missing}")
    keys = [trial_key(i) for i in infos]
    if len(set(keys)) != len(keys):
        dup = sorted({key for key in keys if keys.count(key) > 1}, key=str)[:3]
        raise ValueError(f"make_folds: each (subject, session, trial) must occur once, got duplicates {dup}")
    if n_train is not None and n_train < 1:
        raise ValueError(f"n_train must be >= 1, got {n_train}")
    if k < 2:
        raise ValueError(f"k must be >= 2, got {k}")
    if n_calibration < 1:
        raise ValueError(f"n_calibration must be >= 1, got {n_calibration}")
    if protocol == "subject-dependent":
        if n_train is None:
            n_train = STANDARD_N_TRAIN.get((dataset or "").lower())
        folds = _subject_dependent(infos, n_train, k, seed) if n_train else _kfold(infos, k, seed,
                                                                                  "subject-dependent")
    elif protocol == "loso":
        folds = _loso(infos)
    elif protocol == "loso-calibrated":
        folds = _loso_calibrated(infos, n_calibration)
    elif protocol == "cross-session":
        folds = _cross_session(infos)
    else:
        folds = _kfold(infos, k, seed, "kfold")
    check_folds(folds, infos)
    return folds


def _groups(infos: Sequence[Any], by) -> dict:
    groups: dict = {}
    for idx, info in enumerate(infos):
        groups.setdefault(by(info), []).append(idx)
    return dict(sorted(groups.items(), key=lambda kv: tuple(_sort_key(v) for v in
                                                            (kv[0] if isinstance(kv[0], tuple) else (kv[0],)))))


def _subject_dependent(infos, n_train: int, k: int, seed: int) -> list[Fold]:
    folds = []
    for (subject, session), idx in _groups(infos, lambda i: (i.subject, i.session)).items():
        idx = sorted(idx, key=lambda j: _sort_key(infos[j].trial))
        if len(idx) <= n_train:
            raise ValueError(f"subject-dependent: subject {subject} session {session} has {len(idx)} trials, "
                             f"expected more than n_train={n_train} (trials 1..{n_train} train, the rest test)")
        folds.append(Fold("subject-dependent", f"s{subject}-sess{session}", subject, session, 0,
                          tuple(idx[:n_train]), tuple(idx[n_train:])))
    return folds


def _loso(infos) -> list[Fold]:
    by_subject = _groups(infos, lambda i: i.subject)
    if len(by_subject) < 2:
        raise ValueError(f"loso: expected at least 2 subjects, got {list(by_subject)}")
    folds = []
    for subject, test in by_subject.items():
        train = [j for s, idx in by_subject.items() if s != subject for j in idx]
        folds.append(Fold("loso", f"loso-s{subject}", subject, None, 0, tuple(train), tuple(test)))
    return folds


def _loso_calibrated(infos, n_calibration: int) -> list[Fold]:
    folds = []
    for fold in _loso(infos):
        held = sorted(fold.test, key=lambda j: (_sort_key(infos[j].session), _sort_key(infos[j].trial)))
        if len(held) <= n_calibration:
            raise ValueError(f"loso-calibrated: subject {fold.subject} has {len(held)} trials, expected more than "
                             f"n_calibration={n_calibration} (the first calibrate, the rest test)")
        folds.append(Fold("loso-calibrated", f"loso-cal{n_calibration}-s{fold.subject}", fold.subject, None, 0,
                          fold.train, tuple(held[n_calibration:]), tuple(held[:n_calibration])))
    return folds


def _cross_session(infos) -> list[Fold]:
    folds = []
    for subject, idx in _groups(infos, lambda i: i.subject).items():
        sessions = _groups([infos[j] for j in idx], lambda i: i.session)
        if len(sessions) < 2:
            raise ValueError(f"cross-session: subject {subject} has {len(sessions)} session(s), expected at "
                             "least 2")
        for session, local in sessions.items():
            test = [idx[j] for j in local]
            train = [j for j in idx if j not in set(test)]
            folds.append(Fold("cross-session", f"s{subject}-test-sess{session}", subject, session, 0,
                              tuple(train), tuple(test)))
    return folds


def _kfold(infos, k: int, seed: int, protocol: str) -> list[Fold]:
    from sklearn.model_selection import KFold, StratifiedKFold

    folds = []
    for subject, idx in _groups(infos, lambda i: i.subject).items():
        idx = sorted(idx, key=lambda j: (_sort_key(infos[j].session), _sort_key(infos[j].trial)))
        if len(idx) < k:
            raise ValueError(f"{protocol}: subject {subject} has {len(idx)} trials, expected at least k={k}")
        labels = np.array([-1 if infos[j].label is None else int(infos[j].label) for j in idx])
        _, counts = np.unique(labels, return_counts=True)
        if counts.min() >= k and counts.size > 1 and labels.min() >= 0:
            splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed).split(idx, labels)
        else:
            splitter = KFold(n_splits=k, shuffle=True, random_state=seed).split(idx)
        for f, (tr, te) in enumerate(splitter):
            folds.append(Fold(protocol, f"s{subject}-k{f}", subject, None, f,
                              tuple(idx[j] for j in tr), tuple(idx[j] for j in te)))
    return folds


def check_folds(folds: Sequence[Fold], trial_infos: Sequence[Any]) -> None:
    """Assert that no fold leaks: no trial on both sides, no empty side, for ``loso`` and ``loso-calibrated`` no
    shared subject, and calibration trials only from the tested subject, never tested nor trained on.

    Parameters
    ----------
    folds : sequence of Fold
        The folds to check.
    trial_infos : sequence of TrialInfo
        The trials the folds index.

    Raises
    ------
    AssertionError
        Naming the fold and the leaked trial or subject.
    """
    names = [f.name for f in folds]
    if len(set(names)) != len(names):
        raise AssertionError(f"fold names must be unique, got duplicates in {names}")
    for fold in folds:
        if not fold.train or not fold.test:
            raise AssertionError(f"fold {fold.name}: empty {'train' if not fold.train else 'test'} side")
        train_keys = {trial_key(trial_infos[j]) for j in fold.train}
        test_keys = {trial_key(trial_infos[j]) for j in fold.test}
        shared = train_keys & test_keys
        if shared:
            raise AssertionError(f"fold {fold.name}: trials {sorted(shared, key=str)[:3]} are in train and test")
        if fold.protocol in ("loso", "loso-calibrated"):
            subj = {trial_infos[j].subject for j in fold.train} & {trial_infos[j].subject for j in fold.test}
            if subj:
                raise AssertionError(f"fold {fold.name}: subjects {sorted(subj, key=str)} are in train and test")
        if fold.protocol in CALIBRATED_PROTOCOLS and not fold.calibration:
            raise AssertionError(f"fold {fold.name}: protocol {fold.protocol} needs calibration trials, got none")
        if fold.calibration:
            cal_keys = {trial_key(trial_infos[j]) for j in fold.calibration}
            leaked = cal_keys & (test_keys | train_keys)
            if leaked:
                raise AssertionError(f"fold {fold.name}: calibration trials {sorted(leaked, key=str)[:3]} are also "
                                     "trained on or tested")
            others = {trial_infos[j].subject for j in fold.calibration} - {trial_infos[j].subject for j in fold.test}
            if others:
                raise AssertionError(f"fold {fold.name}: calibration trials of subjects {sorted(others, key=str)} "
                                     "that are not tested")
