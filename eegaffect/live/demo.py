"""``eegaffect demo``: simulated person (EEG headset + ECG, EDA and respiration devices) + demo model + live session
+ dashboard, with nothing to download.

The model comes from the training recipe :func:`demo_recipe` picks for the session's devices (the project's own
training code on simulated data, well under a minute on a laptop CPU), trained once and cached in the user cache
directory (:func:`platformdirs.user_cache_dir`) under a name that holds :func:`demo_bundle_key` (a hash of the
training recipe and config, the eegaffect version and the bundle format), so a changed recipe retrains; a cached
bundle that no longer loads is retrained too.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Literal, Sequence

from pydantic import Field

from eegaffect._files import output_dir
from eegaffect.config import ConfigModel
from eegaffect.live.session import LiveConfig

__all__ = ["DemoConfig", "DemoRecipe", "demo_recipe", "demo_bundle", "demo_bundle_key", "demo_cache_dir", "run_demo"]

logger = logging.getLogger("eegaffect.live.demo")

#: Seconds the demo's headset publishes beyond the session's duration (model loading and warm-up come first).
HEADSET_MARGIN_S = 300.0


class DemoConfig(ConfigModel):
    """Settings of ``eegaffect demo`` (``configs/demo.yaml``)."""

    duration_s: float = Field(60.0, gt=0, description="seconds of live session")
    seed: int = Field(0, description="seed of the demo model; the headset streams a new session (seed + 1)")
    subject: int | None = Field(None, description="simulated person; null: the one the demo model was trained "
                                "on (a personal model), any other number: a new person")
    bundle: str | None = Field(None, description="model bundle; null: the cached demo bundle (trained on first use)")
    stream_name: str = Field("eegaffect-demo", description="name of the simulated EEG stream")
    montage: str = Field("seed62", description="channel set of the simulated headset (the demo model's)")
    sfreq: float = Field(200.0, gt=0, description="rate of the simulated headset in Hz")
    unit: str = Field("V", description="unit of the simulated samples, the one the demo model was trained on")
    fps: float = Field(15.0, gt=0, description="frames per second of the dashboard window")
    calibrate_s: float = Field(30.0, ge=0, description="seconds of a calibration phase before the session (0: "
                               "none; at least 25): the headset's truth labels them, eegaffect.calibration adapts "
                               "the bundle, the session runs the calibrated one and records itself, and the summary "
                               "scores both bundles on that recording")
    physio: list[Literal["ecg", "ppg", "eda", "resp", "temp"]] = Field(
        default_factory=lambda: ["ecg", "eda", "resp"],
        description="physiological devices of the simulated person, each its own stream read by the session and "
                    "shown on the dashboard ([] for the EEG alone)")
    recipe: Literal["eeg", "fused"] = Field(
        "fused", description="the demo model's training recipe: 'fused' (EEG, heart rate and skin conductance of "
                             "'physio' in one model, valence from its EEG pass, eegaffect.models.fusion; its "
                             "calibration phase collects the devices too; without such a device the EEG-only "
                             "recipe runs) or 'eeg' (EEG only; the devices are read, shown and counted)")
    live: LiveConfig = Field(default_factory=LiveConfig)

    @property
    def session_recipe(self) -> str:
        """The recipe the demo runs: :attr:`recipe`, except ``"eeg"`` for ``"fused"`` when no device of
        :attr:`physio` is one the fused recipe fuses (:data:`eegaffect.models.demo.DEMO_FUSED_KINDS`).
        """
        from eegaffect.models.demo import DEMO_FUSED_KINDS

        if self.recipe == "fused" and not set(self.physio) & set(DEMO_FUSED_KINDS):
            return "eeg"
        return self.recipe


def demo_cache_dir() -> Path:
    """Folder of cached demo bundles (``$EEGAFFECT_CACHE_DIR`` or the platform's user cache dir)."""
    env = os.environ.get("EEGAFFECT_CACHE_DIR")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_cache_dir("eegaffect", appauthor=False))


@dataclass(frozen=True)
class DemoRecipe:
    """How the demo model is trained.

    Attributes
    ----------
    name : str
        Short name, printed with the summary (``"eeg"``: the EEG-only recipe).
    modalities : tuple of str
        What the trained model takes (``("eeg",)``, or the EEG and the devices for a fused recipe).
    key : dict
        What the cached bundle depends on besides config and versions (hashed into :func:`demo_bundle_key`).
    train : callable
        ``train(out_dir, seed, progress) -> Path``: trains and saves the bundle.
    """

    name: str
    modalities: tuple[str, ...]
    key: dict
    train: Callable[[Path, int, bool], Path]


def demo_recipe(physio: Sequence[str] = (), recipe: str = "eeg") -> DemoRecipe:
    """The training recipe of the demo model for a session with the physiological devices ``physio``.

    This is the one place where the demo chooses its model. ``"fused"`` (the demo's default, ``DemoConfig.recipe``):
    the simulated person's sessions with those of the ``physio`` devices the recipe fuses
    (:data:`~eegaffect.models.demo.DEMO_FUSED_KINDS`: ECG / PPG and EDA) fused into one model
    (``train_demo_bundle(..., physio=...)``, :mod:`eegaffect.models.fusion`: heart rate over 3 s, the
    skin-conductance level and its slope over 3 s, valence from the model's EEG pass; its calibration phase
    collects the devices with the EEG); the other devices are read, shown and counted. ``"eeg"``: the EEG-only
    recipe (:func:`eegaffect.models.demo.train_demo_bundle`) whatever the devices. The fused recipe is the default
    since, calibrated, it was not worse than the calibrated EEG-only one on 15 new sessions of 5 new persons
    (valence -0.022 [-0.201, 0.157], arousal +0.070 [-0.064, 0.203] CCC, paired Student-t 95%; settings chosen on
    15 other sessions; ``docs/fusion.md``, "The demo's fused recipe").

    Parameters
    ----------
    physio : sequence of str
        The session's devices (``ecg``, ``ppg``, ``eda``, ``resp``, ``temp``).
    recipe : {"eeg", "fused"}
        Which recipe.

    Returns
    -------
    recipe : DemoRecipe

    Raises
    ------
    ValueError
        An unknown recipe, or ``"fused"`` without devices.
    """
    from eegaffect.models.demo import DEMO_FUSED_KINDS, DEMO_RECIPE, train_demo_bundle

    if recipe == "eeg":
        def train(out: Path, seed: int, progress: bool) -> Path:
            return train_demo_bundle(out, seed=int(seed), progress=progress)

        return DemoRecipe("eeg", ("eeg",), {"recipe": DEMO_RECIPE}, train)
    if recipe != "fused":
        raise ValueError(f"demo recipe must be 'eeg' or 'fused', got {recipe!r}")
    kinds = sorted(set(physio) & set(DEMO_FUSED_KINDS))
    if not kinds:
        raise ValueError(f"the fused demo recipe needs physiological devices among {list(DEMO_FUSED_KINDS)} "
                         f"(physio: e.g. [ecg, eda, resp]), got {sorted(set(physio))}")

    def train_fused(out: Path, seed: int, progress: bool) -> Path:
        return train_demo_bundle(out, seed=int(seed), progress=progress, physio=kinds)

    return DemoRecipe("fused", ("eeg", *kinds), {"recipe": DEMO_RECIPE, "physio": kinds}, train_fused)


def demo_bundle_key(seed: int = 0, physio: Sequence[str] = (), recipe: str = "eeg") -> str:
    """Short hash of what the demo bundle depends on: the training recipe (:func:`demo_recipe` for ``physio``) and
    config, the eegaffect version and the bundle format version; part of the cached bundle's name, so a change of
    any retrains it.
    """
    from eegaffect import __version__
    from eegaffect.models.bundle import BUNDLE_VERSION
    from eegaffect.models.demo import demo_config

    recipe = demo_recipe(physio, recipe)
    # a fused recipe's config holds its fusion settings (devices, physiological lookbacks): hashed too, so a changed
    # DEMO_PHYSIO_LOOKBACKS or fusion setting retrains; the EEG-only recipe keeps its config (and cached names)
    kinds = [m for m in recipe.modalities if m != "eeg"]
    config = demo_config(int(seed), kinds) if kinds else demo_config(int(seed))
    dumped = config.model_dump(mode="json")
    if not dumped["fusion"]["eeg_pass_outputs"]:  # added later: left empty, the cached names stay
        del dumped["fusion"]["eeg_pass_outputs"]
    doc = {**recipe.key, "config": dumped, "eegaffect": __version__, "bundle_format": BUNDLE_VERSION}
    if recipe.modalities != ("eeg",):  # the EEG-only recipe keeps the name its bundles were cached under
        doc["modalities"] = list(recipe.modalities)
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode("utf-8")).hexdigest()[:12]


def demo_bundle(seed: int = 0, *, physio: Sequence[str] = (), recipe: str = "eeg",
                cache_dir: str | Path | None = None, progress: bool = True, retrain: bool = False) -> Path:
    """The demo bundle: cached, or trained now with the recipe :func:`demo_recipe` picks for ``physio``.

    Parameters
    ----------
    seed : int
        Seed of the simulation and the training.
    physio : sequence of str
        The session's physiological devices (a fused recipe takes them).
    recipe : {"eeg", "fused"}
        The training recipe (:func:`demo_recipe`).
    cache_dir : str | Path | None
        Cache folder (default :func:`demo_cache_dir`).
    progress : bool
        Show training progress bars.
    retrain : bool
        Train even when a cached bundle loads.

    Returns
    -------
    path : Path
        The bundle directory.
    """
    from eegaffect import __version__
    from eegaffect.models.bundle import BundleError
    from eegaffect.models.predictor import Predictor

    recipe_name = recipe
    recipe = demo_recipe(physio, recipe_name)
    root = Path(cache_dir) if cache_dir is not None else demo_cache_dir()
    tag = "" if recipe.name == "eeg" else f"-{recipe.name}"
    path = root / f"demo-bundle{tag}-{__version__}-seed{int(seed)}-{demo_bundle_key(seed, physio, recipe_name)}"
    if path.is_dir() and not retrain:
        try:
            Predictor.load(path)
            return path
        except BundleError as exc:
            logger.warning("cached demo bundle %s does not load (%s); training a new one", path, exc)
    tmp = root / f".{path.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    logger.info("training the demo model (%s recipe: %s) on simulated data (once; cached in %s)", recipe.name,
                "+".join(recipe.modalities), root)
    t0 = time.perf_counter()
    recipe.train(tmp, int(seed), progress)
    shutil.rmtree(tmp / "checkpoints", ignore_errors=True)
    shutil.rmtree(path, ignore_errors=True)
    tmp.replace(path)
    logger.info("demo model trained in %.0f s: %s", time.perf_counter() - t0, path)
    return path


def run_demo(config: DemoConfig, *, out_dir: str | Path | None = None, show: bool | None = None,
             progress: bool = True) -> dict:
    """Run the demo: headset subprocess (EEG and the ``physio`` devices), model, live session with dashboard; return
    the summary.

    Parameters
    ----------
    config : DemoConfig
        Settings.
    out_dir : str | Path | None
        Output folder (summary, updates, dashboard PNG); default ``./eegaffect-demo-<time>``.
    show : bool | None
        Show the dashboard window (None: when a display is available; otherwise the PNG is saved).
    progress : bool
        Progress bars while training the demo model.

    Returns
    -------
    summary : dict
        The live session's summary (``dashboard`` holds the PNG path, ``devices`` the physiological devices'
        counts) plus ``demo_model``: the bundle, and for the demo's own model its recipe name and modalities,
        and with a calibration phase ``calibration`` (both bundles scored on the session's recording); also
        written to ``out_dir/summary.json``.
    """
    from eegaffect.live.dashboard_worker import make_dashboard
    from eegaffect.live.headset import HeadsetProcess
    from eegaffect.live.session import LiveSession

    out = Path(out_dir) if out_dir is not None else output_dir(None, (), default_prefix="eegaffect-demo")
    if config.session_recipe != config.recipe:
        from eegaffect.models.demo import DEMO_FUSED_KINDS

        logger.warning("the fused demo recipe fuses %s, and none of the devices %s is one: the EEG-only recipe runs",
                       "/".join(DEMO_FUSED_KINDS), config.physio or "(none)")
    bundle = Path(config.bundle) if config.bundle else demo_bundle(config.seed, physio=config.physio,
                                                                   recipe=config.session_recipe, progress=progress)
    dashboard = make_dashboard(out / "dashboard.png", show=show, fps=config.fps)
    name = f"{config.stream_name}-{os.getpid()}"
    subject = config.seed if config.subject is None else config.subject
    # the headset also ends by itself (a backstop beside its parent watch): the session plus time to load and warm up
    headset = HeadsetProcess(name, montage=config.montage, sfreq=config.sfreq, seed=config.seed + 1,
                             subject=subject, unit=config.unit, index_channel=True,
                             duration=config.calibrate_s + config.duration_s + HEADSET_MARGIN_S,
                             physio=config.physio)
    if config.physio:
        config = config.model_copy(update={"live": config.live.model_copy(
            update={"physio": [f"{name}-{k}" for k in config.physio]})})
    with headset:
        if config.calibrate_s > 0:
            summary = _run_calibrated(config, bundle, name, out, dashboard)
        else:
            summary = LiveSession(name, bundle, config.live, out_dir=out, dashboard=dashboard).run(
                duration=config.duration_s)
    summary["demo_model"] = _model_line(config, bundle)
    if (out / "summary.json").is_file():  # the session wrote its own part; add the demo's (model, calibration)
        (out / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    return summary


def _model_line(config: DemoConfig, bundle: Path) -> dict:
    """What the demo ran: the bundle and, for the demo's own model, its recipe and the modalities it takes."""
    if config.bundle:
        return {"bundle": str(bundle), "recipe": None, "modalities": None}
    recipe = demo_recipe(config.physio, config.session_recipe)
    return {"bundle": str(bundle), "recipe": recipe.name, "modalities": list(recipe.modalities)}


def _run_calibrated(config: DemoConfig, bundle: Path, name: str, out: Path, dashboard) -> dict:
    """Calibrate on the headset's first ``calibrate_s`` seconds, then run the session on the calibrated bundle.

    The session records itself; ``summary["calibration"]`` scores the parent and the calibrated bundle offline on
    that recording (the same samples, the same truth).
    """
    from eegaffect.calibration import MIN_FRAMES, CalibrationError, calibrate_bundle, collect_live, score_recording
    from eegaffect.live.session import LiveSession

    if config.calibrate_s < MIN_FRAMES + 5:
        raise CalibrationError(f"calibrate_s must be 0 (no calibration) or at least {MIN_FRAMES + 5} s, got "
                               f"{config.calibrate_s:g}")
    live = config.live.model_copy(update={"record": True})
    logger.info("calibration phase: %g s of the headset with its ground truth", config.calibrate_s)
    from eegaffect.models.predictor import Predictor

    kinds = Predictor.load(bundle).physio_kinds  # a fused bundle calibrates on the devices it fuses, too
    data = collect_live(bundle, name, "truth", config.calibrate_s, interpolate=live.interpolate,
                        ignore=live.ignore_channels, unit=live.unit, rename=live.rename,
                        physio=[f"{name}-{k}" for k in kinds] or None)
    calibrated = calibrate_bundle(bundle, out / "calibrated-bundle", data)
    session = LiveSession(name, calibrated, live, out_dir=out, dashboard=dashboard)
    summary = session.run(duration=config.duration_s)
    recording = out / "session.h5"
    summary["calibration"] = {"seconds": data.duration_s, "frames": data.n_frames, "bundle": str(calibrated),
                              "uncalibrated": score_recording(bundle, recording, name),
                              "calibrated": score_recording(calibrated, recording, name)}
    return summary
