"""Progress of long commands: live on a terminal's stderr, a few plain lines on stderr otherwise, never on stdout
(which keeps the command's result)."""
import io

from click.testing import CliRunner

from glassbox import progress
from glassbox.cli import main


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_off_a_terminal_progress_is_a_few_plain_lines_on_stderr(capsys):
    with progress.counting("analytics rebuild", 40, "events") as counter:
        for _ in range(40):
            counter.advance()
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.splitlines()
    assert lines[0] == "analytics rebuild: 40 events to do"
    assert len(lines) == 11  # the start and each tenth
    assert lines[-1].startswith("analytics rebuild: 40 of 40 events (100%), ") and "events/s" in lines[-1]
    assert "s left" in lines[-1]


def test_a_count_that_ends_early_still_says_where_it_stopped(capsys):
    with progress.counting("demo seed", 6, "services") as counter:
        counter.advance(description="demo seed: clients")
    assert capsys.readouterr().err.splitlines()[-1].startswith("demo seed: clients: 1 of 6 services (17%)")


def test_on_a_terminal_progress_is_a_live_bar_with_count_rate_and_time_left(monkeypatch):
    terminal = Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    monkeypatch.setenv("TERM", "xterm")
    with progress.counting("analytics rebuild", 30, "events") as counter:
        for _ in range(30):
            counter.advance()
    with progress.status("resolving the Kafka jars"):
        pass
    shown = terminal.getvalue()
    assert "analytics rebuild" in shown and "30/30" in shown and "100%" in shown and "events/s" in shown
    assert "\x1b[" in shown  # drawn, not printed line by line


def test_db_upgrade_says_what_it_migrates_on_stderr_and_the_result_on_stdout(clients_db_url, monkeypatch):
    monkeypatch.setenv("CLIENTS_DATABASE_URL", clients_db_url)
    result = CliRunner().invoke(main, ["db", "upgrade", "clients"])
    assert result.exit_code == 0, result.output
    assert result.stdout == "clients: at head\n"
    assert result.stderr == "migrating clients ...\n"
