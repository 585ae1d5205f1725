"""OneDesk entry point: `python main.py` opens the desk app; `python main.py --help` lists the subcommands."""

import sys
import time

STARTED = time.perf_counter()  # before the heavy imports, for the start-up figure

from app.cli.main import main  # noqa: E402


def _run_gui(args) -> int:
    # Imported only when the GUI is wanted, so admin and server commands work without a display.
    from ui.application import run_gui
    return run_gui(args, started=STARTED)


if __name__ == "__main__":
    sys.exit(main(gui=_run_gui))
