"""OneDesk entry point: `python main.py` opens the desk app; `python main.py --help` lists the subcommands."""

import sys
import time

STARTED = time.perf_counter()  # before the heavy imports, for the start-up figure

from app.cli.main import main  # noqa: E402


def _run_gui(args) -> int:
    # Imported only when the GUI is wanted, so admin and server commands work without a display.
    _register_qt_devices()
    from ui.application import run_gui
    return run_gui(args, started=STARTED)


def _command_word(argv: list[str]) -> str:
    skip = False
    for a in argv:
        if skip:
            skip = False
        elif a == "--data-dir":
            skip = True
        elif not a.startswith("-"):
            return a
    return ""


def _register_qt_devices() -> None:
    """The camera's drivers need Qt (ui/devices/camera.py; it makes a windowless Qt application for ``devices``
    commands itself), and app/ never imports Qt: they join the device registry here."""
    import importlib.util
    import logging
    try:
        if importlib.util.find_spec("ui.devices.camera") is None:
            return
        from ui.devices import camera
        camera.register()
    except Exception as e:  # no camera driver: the other devices still work
        logging.getLogger(__name__).warning("camera drivers not registered: %s", type(e).__name__)


if __name__ == "__main__":
    if _command_word(sys.argv[1:]) == "devices":
        _register_qt_devices()
    sys.exit(main(gui=_run_gui))
