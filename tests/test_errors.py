"""Errors meant for people derive from one base class; run_op and the command line recognise it without a list,
and anything else is logged once, with its traceback redacted, and shown as a generic Chinese message."""

from __future__ import annotations

import importlib
import inspect
import logging
import pkgutil

import pytest

import app
import forms
from app.core.errors import UNEXPECTED_MESSAGE, UserError, redacted_traceback

# Exceptions that are never shown to a person as they are: each is caught by its own caller, which turns it
# into an HTTP status, a repair of the sync state, or a message with more context. Keep this list short.
INTERNAL_EXCEPTIONS = {
    "app.desk.sync.client._Refused",  # a 409/410 the sync client repairs itself (realign, snapshot)
    "app.server.changes.BadCursor",  # becomes UnknownCursor
    "app.server.devices.AuthFailed",  # 401; "bad token" is not for anyone's eyes
    "app.server.devices.TokenExpired",  # 401 like AuthFailed; the API answers with its own Chinese message
    "app.server.pull.UnknownCursor",  # 410: the desk takes a snapshot
    "app.server.push.PushConflict",  # 409: the desk realigns its outbox
    "app.server.push.TemporaryFailure",  # 503: the desk retries
    "app.server.push.BadBatch",  # 400 for a malformed request: a bug in a client
    "app.server.push._Careful",  # retry one mutation on its own after a database error
    "forms.expr.EvalError",  # a value the rules cannot compute yet: the result is "undetermined"
    "forms.expr_bounds.BoundError",  # an operation beyond the cost bounds: becomes EvalError (undetermined)
    "forms.values.InvalidValue",  # the validator adds the field's label before anyone sees it
    "app.core.limits.Unstorable",  # inside pydantic: app/core/commands.py adds the field's label
    "app.core.limits.TooLarge",  # inside pydantic: app/core/commands.py adds the field's label
    "app.core.verify.VerifyBaseError",  # a bad base address: the document prints without the link
    "app.desk.sync.files._Stop",  # ends a file transfer round; its Chinese reason goes into the round's counts
    "app.server.files.FileRefused",  # becomes the file route's HTTP status with its Chinese message
    "app.bench.desks.Failed",  # a simulated desk's failed request: counted by kind in the bench's figures
}


def _modules() -> list[str]:
    names = []
    for pkg in (app, forms):
        names += [m.name for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + ".")]
    return names


def _exception_classes() -> dict[str, type[BaseException]]:
    found = {}
    for name in _modules():
        module = importlib.import_module(name)
        for obj in vars(module).values():
            if inspect.isclass(obj) and issubclass(obj, BaseException) and obj.__module__ == name:
                found[f"{name}.{obj.__qualname__}"] = obj
    return found


def test_every_exception_in_the_core_is_a_user_error_or_a_listed_internal_one():
    classes = _exception_classes()
    assert len(classes) > 20  # the walk really imported the packages
    unlisted = [name for name, cls in classes.items()
                if not issubclass(cls, UserError) and name not in INTERNAL_EXCEPTIONS]
    assert unlisted == [], "derive these from app.core.errors.UserError, or list them as internal control flow"
    stale = sorted(INTERNAL_EXCEPTIONS - set(classes))
    assert stale == [], "no longer defined: drop from INTERNAL_EXCEPTIONS"
    listed_but_user = sorted(n for n in INTERNAL_EXCEPTIONS if issubclass(classes[n], UserError))
    assert listed_but_user == []


@pytest.mark.parametrize("name", [
    "app.desk.auth.AuthError", "app.desk.auth.PermissionDenied", "app.desk.backup.BackupError",
    "app.core.machine.TransitionError", "app.desk.cases.CaseError", "app.desk.db.StorageError",
    "app.core.residents.ResidentError", "app.desk.setup.SetupError", "forms.identity.IdentityError",
    "app.desk.printing.service.PrintError", "app.desk.sync.enroll.EnrollFailed", "app.desk.deadlines.DeadlineError",
    "app.core.workdays.CalendarError", "app.desk.sync.client.SyncError", "app.cli.main.CliError",
    "app.server.admin.AdminError", "app.server.devices.EnrollError",
])
def test_the_errors_run_op_used_to_list_and_the_missing_ones_are_user_errors(name):
    module, _, cls = name.rpartition(".")
    assert issubclass(getattr(importlib.import_module(module), cls), UserError)


def test_value_errors_stay_value_errors_for_code_that_catches_them():
    from app.core.workdays import CalendarError
    from app.desk.deadlines import DeadlineError
    from forms.identity import IdentityError
    for cls in (CalendarError, DeadlineError, IdentityError):
        assert issubclass(cls, ValueError) and issubclass(cls, UserError)


def test_redacted_traceback_masks_ids_and_phones():
    try:
        raise RuntimeError("row 11010519491231002X phone 13800138000")
    except RuntimeError as e:
        text = redacted_traceback(e)
    assert text.startswith("Traceback") and "RuntimeError: row [id] phone [phone]" in text
    assert "11010519491231002X" not in text and "13800138000" not in text


# ----- run_op ------------------------------------------------------------------------------------------------------

@pytest.fixture
def host(qtbot):
    from PySide6.QtWidgets import QWidget
    w = QWidget()
    qtbot.addWidget(w)
    return w


def _run(qtbot, host, fn):
    from ui.operations import run_op
    seen: dict = {}
    run_op(host, fn, lambda v: seen.setdefault("done", v), lambda m: seen.setdefault("error", m))
    qtbot.waitUntil(lambda: bool(seen))
    return seen


@pytest.mark.gui
def test_run_op_shows_a_user_errors_message_and_logs_nothing(qtbot, host, caplog):
    from app.desk.sync.client import SyncError

    def refuse():
        raise SyncError("无法连接区服务器，当前离线", online=False)
    with caplog.at_level(logging.ERROR):
        assert _run(qtbot, host, refuse) == {"error": "无法连接区服务器，当前离线"}
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


@pytest.mark.gui
def test_run_op_default_handler_puts_the_message_in_a_box(qtbot, host):
    from app.core.workdays import CalendarError
    from tests.gui_helpers import answer_next_message_box
    from ui.operations import pending_operations, run_op
    host.show()

    def refuse():
        raise CalendarError("2027 年节假日安排尚未导入")
    seen = answer_next_message_box()
    run_op(host, refuse, lambda _v: None)
    qtbot.waitUntil(lambda: bool(seen) and pending_operations() == 0)
    assert seen == ["2027 年节假日安排尚未导入"]


@pytest.mark.gui
def test_run_op_hides_a_bug_behind_a_generic_message_and_logs_it_once_redacted(qtbot, host, caplog, tmp_path):
    from app.core.logs import setup_logging
    log_path = setup_logging(tmp_path)

    def bug():
        raise RuntimeError("cannot parse 11010519491231002X")
    try:
        with caplog.at_level(logging.ERROR):
            assert _run(qtbot, host, bug) == {"error": UNEXPECTED_MESSAGE}
    finally:
        for h in list(logging.getLogger().handlers):
            if getattr(h, "_onedesk", False):
                h.flush()
                logging.getLogger().removeHandler(h)
                h.close()
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and errors[0].exc_info is None  # the traceback is in the message, already masked
    assert "RuntimeError: cannot parse [id]" in errors[0].getMessage() and "in bug" in errors[0].getMessage()
    assert "11010519491231002X" not in caplog.text
    text = log_path.read_text(encoding="utf-8")
    assert text.count("Traceback") == 1 and "cannot parse [id]" in text and "11010519491231002X" not in text


def test_command_line_prints_any_user_error_without_a_list(tmp_path, capsys):
    """PrintError was not among the command line's known errors: it used to come out as an internal error."""
    from app.cli import main as cli
    from app.desk.printing.service import PrintError
    argv = ["--data-dir", str(tmp_path), "db", "check"]
    args = cli.build_parser(argv).parse_args(argv)
    cli.resolve_data_dir(args)

    def refuse(_args):
        raise PrintError("补打需要填写原因")
    args.func = refuse
    assert cli.run_handler(args) == cli.EXIT_BAD_INPUT
    assert capsys.readouterr().err.strip() == "错误：补打需要填写原因"
