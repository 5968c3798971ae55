"""The command line, the package layout and the import layering."""

from __future__ import annotations

import ast
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest
import tomllib

import eegaffect
from eegaffect.cli import COMMAND_MODULES, build_parser, main

ROOT = Path(__file__).resolve().parents[1]


def test_help_lists_every_subcommand(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for name in COMMAND_MODULES:
        assert name in out


def test_version(capsys):
    with pytest.raises(SystemExit):
        main(["--version"])
    assert capsys.readouterr().out.strip() == f"eegaffect {eegaffect.__version__}"


def test_python_dash_m_runs_the_cli():
    proc = subprocess.run([sys.executable, "-m", "eegaffect", "--version"], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0 and proc.stdout.startswith("eegaffect ")


def test_configs_command_lists_and_prints(capsys):
    assert main(["configs"]) == 0
    assert "pipeline" in capsys.readouterr().out.split()
    assert main(["configs", "pipeline"]) == 0
    assert "sfreq" in capsys.readouterr().out


def test_every_command_takes_config_and_overrides():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    for name, cmd_parser in sub.choices.items():
        leaves = [cmd_parser]
        nested = [a for a in cmd_parser._actions if a.__class__.__name__ == "_SubParsersAction"]
        if nested:
            leaves = list(nested[0].choices.values())
        for leaf in leaves:
            if name == "configs":
                continue
            opts = {o for a in leaf._actions for o in a.option_strings}
            assert {"--config", "--set"} <= opts, f"{leaf.prog} lacks --config/--set"


def test_config_error_exit_code(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("sfreq: -1\n")
    assert main(["demo", "--config", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "sfreq" in err
    assert err.startswith("eegaffect demo: configuration error:") and "Traceback" not in err
    assert main(["bench", "seed", "--root", str(tmp_path), "--out", str(tmp_path / "o"), "--set", "k=1"]) == 2
    assert capsys.readouterr().err.startswith("eegaffect bench seed: configuration error: --set k=1: key 'k'")


def test_pyproject_lists_every_package():
    """A subpackage missing from pyproject's explicit list would be absent from a wheel install."""
    conf = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    declared = set(conf["packages"])
    mapping = conf["package-dir"]
    found = set()
    for name, folder in mapping.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / folder)
            found.add(".".join([name, *rel.parts]))
    assert found == declared


def test_configs_are_package_data():
    names = [p.name for p in resources.files("eegaffect.configs").iterdir()]
    assert "pipeline.yaml" in names


def _imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    mods = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            mods.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            mods.add(node.module)
    return mods


@pytest.mark.parametrize("folder, allowed_eegaffect", [
    ("kernels", ("eegaffect.kernels",)),
    ("acquisition", ("eegaffect.kernels", "eegaffect.acquisition")),
])
def test_layering(folder, allowed_eegaffect):
    """kernels/ imports only numpy, numba (with llvmlite, numba's own LLVM binding, for the code-generation hints in
    kernels/_jit.py), scipy; acquisition/ adds pylsl, h5py, pyxdf, mne-free readers."""
    third_party = {"kernels": {"numpy", "numba", "llvmlite", "scipy"},
                   "acquisition": {"numpy", "numba", "scipy", "pylsl", "h5py", "pyxdf"}}[folder]
    stdlib = set(sys.stdlib_module_names)
    for path in (ROOT / folder).rglob("*.py"):
        for mod in _imports_of(path):
            top = mod.split(".")[0]
            if top == "eegaffect":
                assert mod.startswith(allowed_eegaffect), f"{path.name} imports {mod} (higher layer)"
            else:
                assert top in stdlib or top in third_party, f"{path.name} imports {mod}, not allowed in {folder}/"


def test_light_imports():
    """Importing the low layers or the CLI does not pull in torch, mne, matplotlib or stable-baselines3."""
    code = ("import sys, eegaffect.kernels, eegaffect.acquisition, eegaffect.cli; "
            "print(sorted(m for m in ('torch','mne','matplotlib','stable_baselines3','braindecode') "
            "if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_console_logging_follows_the_current_stderr(capsys):
    """The CLI's log handler must not keep a stream that a test harness (or a caller) later closes."""
    import io

    from eegaffect._logging import logger, set_log_level

    previous_level = logger.level
    set_log_level("info")
    old = sys.stderr
    try:
        sys.stderr = io.StringIO()
        logger.info("first")
        first = sys.stderr
        sys.stderr = io.StringIO()
        first.close()
        logger.info("second")  # would raise 'I/O operation on closed file' with a bound stream
        assert "second" in sys.stderr.getvalue()
    finally:
        sys.stderr = old
        logger.setLevel(previous_level)
