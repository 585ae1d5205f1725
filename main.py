"""OneDesk entry point: `python main.py` opens the desk app; `python main.py --help` lists the subcommands."""

import os
import sys
import time

STARTED = time.perf_counter()  # before the heavy imports, for the start-up figure



def _bare_qt_probe() -> int:
    """The floor that ``bench startup`` measures against: this same program (interpreter, frozen bootloader and
    Qt) showing a bare dialog, reported like the app's own probe. ``ONEDESK_STARTUP_PROBE=bare``."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QDialog, QLabel, QVBoxLayout

    app = QApplication(sys.argv[:1])
    dialog = QDialog()
    QVBoxLayout(dialog).addWidget(QLabel("OneDesk"))
    dialog.show()

    def shown() -> None:
        print(f"startup_ms={(time.perf_counter() - STARTED) * 1000:.0f} window=bare", flush=True)
        app.quit()

    QTimer.singleShot(0, shown)
    return app.exec()


if __name__ == "__main__" and os.environ.get("ONEDESK_STARTUP_PROBE") == "bare":
    sys.exit(_bare_qt_probe())

from app.cli.main import main  # noqa: E402


def _run_gui(args) -> int:
    # Imported only when the GUI is wanted, so admin and server commands work without a display. The camera's
    # drivers join the registry when the desk first asks for its devices (ui/services.py), not at start-up:
    # QtMultimedia is slow to load.
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
    if getattr(sys, "frozen", False):  # `server --workers N` starts its workers with multiprocessing's spawn
        import multiprocessing
        multiprocessing.freeze_support()
    if _command_word(sys.argv[1:]) == "devices":
        _register_qt_devices()
    sys.exit(main(gui=_run_gui))
