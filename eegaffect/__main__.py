"""``python -m eegaffect`` runs the command-line interface."""

from eegaffect.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
