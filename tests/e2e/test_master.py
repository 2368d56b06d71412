"""The master daemon and the control verbs: start, status, stop, abort,
reload, a second start refused by the pid lock, spawn(8) services over
UNIX-domain and TCP sockets, crashed children restarted, a child that dies
at startup throttled, and stop leaving no process behind.

Every test runs an unprivileged instance in a folder of its own under /tmp
(as "nobody" when the tests run as root, so that the instance really is
unprivileged), on 127.0.0.1 ports that the test picks free.
"""
import os
import pathlib
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest

from conftest import ULAK

AS_ROOT = os.geteuid() == 0
USER = "nobody" if AS_ROOT else None
VERSION = "0.1.0"


def _user_can_run_ulak():
    if not AS_ROOT:
        return True
    try:
        return subprocess.run([str(ULAK), "postconf", "-d", "mail_name"],
                              capture_output=True, user=USER,
                              timeout=30).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


pytestmark = pytest.mark.skipif(
    not _user_can_run_ulak(),
    reason=f"{USER} cannot run {ULAK} (a folder on its path is closed)")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def alive(pid):
    """PID runs and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state != "Z"


def descendants(pid):
    """PID and every live process below it."""
    kids = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        kids.setdefault(ppid, []).append(int(d))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        if alive(p):
            out.append(p)
        todo.extend(kids.get(p, []))
    return out


def cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().split(b"\0")
    except OSError:
        return []


class Instance:
    def __init__(self, root):
        self.root = root
        self.etc = root / "etc"
        self.queue = root / "queue"
        self.data = root / "data"
        self.log = root / "maillog"
        self.etc.mkdir()

    def configure(self, master, main=""):
        (self.etc / "main.cf").write_text(
            f"queue_directory = {self.queue}\n"
            f"data_directory = {self.data}\n"
            f"maillog_file = {self.log}\n"
            "maillog_file_prefixes = /tmp\n"
            "inet_interfaces = 127.0.0.1\n"
            "inet_protocols = ipv4\n" + main)
        (self.etc / "master.cf").write_text(master)
        self.chown()

    def chown(self):
        if AS_ROOT:
            pw = pwd.getpwnam(USER)
            for p in [self.root, *self.root.rglob("*")]:
                os.lchown(p, pw.pw_uid, pw.pw_gid)

    def ulak(self, *args, env=None, timeout=60):
        e = {k: v for k, v in os.environ.items() if k != "MAIL_CONFIG"}
        e.update(env or {})
        proc = subprocess.run([str(ULAK), "-c", str(self.etc), *args],
                              capture_output=True, text=True, env=e,
                              timeout=timeout, user=USER, cwd="/")
        return proc

    def start_privileged(self):
        """Start as root (a privileged instance: the queue processes drop
        to mail_owner); skip when the host has no such account.  Returns
        the environment for later commands."""
        os.chown(self.root, 0, 0)
        e = {k: v for k, v in os.environ.items() if k != "MAIL_CONFIG"}
        r = subprocess.run([str(ULAK), "-c", str(self.etc), "start"],
                           capture_output=True, text=True, env=e, timeout=60)
        if r.returncode != 0 and "unknown user: postfix" in r.stderr:
            pytest.skip("no postfix account on this host")
        assert r.returncode == 0, r
        return e

    def logtext(self):
        try:
            return self.log.read_text()
        except FileNotFoundError:
            return ""

    def wait_log(self, pattern, count=1, timeout=10):
        end = time.time() + timeout
        while time.time() < end:
            text = self.logtext()
            if len(re.findall(pattern, text)) >= count:
                return text
            time.sleep(0.05)
        raise AssertionError(f"no {count}x {pattern!r} in log:\n"
                             f"{self.logtext()}")

    def master_pid(self):
        return int((self.data / "master.lock").read_text())

    def sock(self, name, private=True):
        return str(self.queue / ("private" if private else "public") / name)

    def spawnd_pids(self, service):
        return [p for p in descendants(self.master_pid())
                if b"spawn" in cmdline(p) and service.encode() in cmdline(p)]


@pytest.fixture
def inst():
    root = pathlib.Path(tempfile.mkdtemp(prefix="ulak-master-", dir="/tmp"))
    os.chmod(root, 0o755)
    i = Instance(root)
    yield i
    # Whatever a test left running goes, whatever it was.
    try:
        pid = i.master_pid()
    except (OSError, ValueError):
        pid = None
    if pid and alive(pid):
        procs = descendants(pid)
        i.ulak("abort", timeout=30)
        for p in procs:
            if alive(p):
                os.kill(p, signal.SIGKILL)
    shutil.rmtree(root, ignore_errors=True)


def echo_line(name, user="nobody", maxproc=2, argv="/bin/cat"):
    return f"{name} unix - n n - {maxproc} spawn user={user} argv={argv}\n"


def unix_talk(path, data=b"hello\n", timeout=10):
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(timeout)
        s.connect(path)
        # A command that does not read its input (id -un) may answer and
        # close before the data is sent: its answer is still to be read.
        try:
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass
        out = b""
        while chunk := s.recv(4096):
            out += chunk
        return out


def start(inst):
    r = inst.ulak("start")
    assert r.returncode == 0, r
    return r


def test_start_status_second_start_stop(inst):
    inst.configure(echo_line("echo"))
    r = start(inst)
    assert "ulak: starting the ulak mail system\n" in r.stderr, r
    for d in ["public", "private", "pid", "maildrop", "incoming", "active",
              "deferred", "hold", "corrupt", "bounce", "defer", "trace"]:
        assert (inst.queue / d).is_dir(), d
    assert inst.data.is_dir()
    pid = inst.master_pid()
    assert alive(pid)
    assert (inst.queue / "pid" / "master.pid").read_text() == f"{pid:10d}\n"
    inst.wait_log(rf"ulak/master\[{pid}\]: daemon started -- version "
                  rf"{VERSION}, configuration {inst.etc}\n")

    r = inst.ulak("status")
    assert r.returncode == 0, r
    assert r.stderr == ("ulak: the ulak mail system is running: PID: "
                        f"{pid}\n"), r

    # The lock keeps a second master away, with a clear message.
    r = inst.ulak("start")
    assert r.returncode == 1, r
    assert "ulak: error: the ulak mail system is already running\n" \
        in r.stderr, r
    assert inst.master_pid() == pid

    assert unix_talk(inst.sock("echo")) == b"hello\n"
    procs = descendants(pid)
    assert len(procs) >= 2, procs  # the master and a spawn process

    r = inst.ulak("stop")
    assert r.returncode == 0, r
    assert r.stderr == "ulak: stopping the ulak mail system\n", r
    assert [p for p in procs if alive(p)] == []
    inst.wait_log(rf"ulak/master\[{pid}\]: terminating on signal 15\n")

    r = inst.ulak("status")
    assert r.returncode == 1, r
    assert r.stderr == "ulak: the ulak mail system is not running\n", r
    r = inst.ulak("stop")
    assert r.returncode == 1, r
    assert r.stderr == \
        "ulak: error: the ulak mail system is not running\n", r


def test_master_lock_held_by_hand(inst):
    """A second master started directly meets the lock too."""
    inst.configure(echo_line("echo"))
    start(inst)
    r = subprocess.run([str(ULAK), "--daemon", "master", "-c", str(inst.etc)],
                       capture_output=True, text=True, user=USER, timeout=30)
    assert r.returncode == 1, r
    assert "master: fatal: the ulak mail system is already running\n" \
        in r.stderr, r
    assert inst.ulak("stop").returncode == 0


def test_spawn_unix_inet_env_and_maxproc(inst):
    port = free_port()
    inst.configure(echo_line("echo", maxproc=1)
                   + echo_line("showenv", argv="/usr/bin/env")
                   + f"127.0.0.1:{port} inet n - n - 2 spawn user=nobody "
                   "argv=/usr/bin/tr a-z A-Z\n")
    start(inst)
    assert unix_talk(inst.sock("echo")) == b"hello\n"
    # Command arguments reach the program unchanged; TCP works as well.
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(b"shout\n")
        s.shutdown(socket.SHUT_WR)
        assert s.recv(100) == b"SHOUT\n"
    # The environment is $import_environment and MAIL_CONFIG only.
    env = unix_talk(inst.sock("showenv"), b"").decode()
    assert f"MAIL_CONFIG={inst.etc}\n" in env, env
    assert "ULAK_TEST_LEAK" not in env, env
    assert "PATH=" not in env, env

    # maxproc 1: a second client waits until the first is done.
    first = socket.socket(socket.AF_UNIX)
    first.connect(inst.sock("echo"))
    first.sendall(b"one\n")
    assert first.recv(100) == b"one\n"
    second = socket.socket(socket.AF_UNIX)
    second.settimeout(1)
    second.connect(inst.sock("echo"))
    second.sendall(b"two\n")
    with pytest.raises(socket.timeout):
        second.recv(100)
    assert len(inst.spawnd_pids("echo")) == 1
    inst.wait_log(r'ulak/master\[\d+\]: warning: service "echo" '
                  r'\(private/echo\) has reached its process limit "1": '
                  r"new clients may experience noticeable delays\n")
    first.close()
    second.settimeout(10)
    assert second.recv(100) == b"two\n"
    second.close()
    assert inst.ulak("stop").returncode == 0


def test_spawn_environment_does_not_leak(inst):
    inst.configure(echo_line("showenv", argv="/usr/bin/env"))
    r = inst.ulak("start", env={"ULAK_TEST_LEAK": "yes"})
    assert r.returncode == 0, r
    env = unix_talk(inst.sock("showenv"), b"").decode()
    assert "ULAK_TEST_LEAK" not in env, env
    assert inst.ulak("stop").returncode == 0


def test_crashed_child_logged_and_restarted(inst):
    inst.configure(echo_line("echo"))
    start(inst)
    assert unix_talk(inst.sock("echo")) == b"hello\n"
    [victim] = inst.spawnd_pids("echo")
    os.kill(victim, signal.SIGKILL)
    inst.wait_log(rf"ulak/master\[\d+\]: warning: process {ULAK} pid "
                  rf"{victim} killed by signal 9\n")
    # A child that had been working is restarted on the next request, not
    # throttled.
    assert unix_talk(inst.sock("echo"), b"again\n") == b"again\n"
    assert "throttling" not in inst.logtext()
    [fresh] = inst.spawnd_pids("echo")
    assert fresh != victim
    assert inst.ulak("stop").returncode == 0


def test_startup_failure_is_throttled(inst):
    inst.configure(echo_line("echo")
                   + echo_line("broken", argv="/nonexistent/policyd"),
                   "service_throttle_time = 3s\n")
    start(inst)
    clients = []
    for _ in range(3):
        s = socket.socket(socket.AF_UNIX)
        s.connect(inst.sock("broken"))
        clients.append(s)
    text = inst.wait_log(r"warning: broken: bad command startup -- "
                         r"throttling\n")
    assert re.search(r"ulak/spawn\[\d+\]: fatal: command /nonexistent/"
                     r"policyd: No such file or directory\n", text), text
    assert re.search(rf"ulak/master\[\d+\]: warning: process {ULAK} pid "
                     r"\d+ exit status 1\n", text), text
    # Throttled: no tight loop while clients keep waiting.
    time.sleep(1.5)
    assert inst.logtext().count("exit status 1") == 1, inst.logtext()
    # After $service_throttle_time it is tried again, once.
    inst.wait_log("bad command startup -- throttling", count=2, timeout=10)
    assert inst.logtext().count("exit status 1") == 2
    # Other services are not affected.
    assert unix_talk(inst.sock("echo")) == b"hello\n"
    for s in clients:
        s.close()
    assert inst.ulak("stop").returncode == 0


def test_reload_refuses_bad_config_and_keeps_running(inst):
    inst.configure(echo_line("echo"))
    start(inst)
    pid = inst.master_pid()
    main = (inst.etc / "main.cf").read_text()
    (inst.etc / "main.cf").write_text(main + "message_size_limit = 10MB\n")

    r = inst.ulak("reload")
    assert r.returncode == 1, r
    assert 'message_size_limit: "10MB" is not a size' in r.stderr, r
    assert "ulak: error: reload refused: the running configuration is " \
        "kept\n" in r.stderr, r

    # A SIGHUP that bypasses the command is refused by the master itself.
    os.kill(pid, signal.SIGHUP)
    inst.wait_log(rf"ulak/master\[{pid}\]: warning: reload refused: 1 "
                  rf"problem in {inst.etc}/main.cf; the running "
                  r"configuration is kept\n")
    assert alive(pid)
    assert inst.ulak("status").returncode == 0
    assert unix_talk(inst.sock("echo")) == b"hello\n"

    # A bad master.cf as well.
    (inst.etc / "main.cf").write_text(main)
    good_master = (inst.etc / "master.cf").read_text()
    (inst.etc / "master.cf").write_text(good_master + "x unix - n n\n")
    os.kill(pid, signal.SIGHUP)
    inst.wait_log(rf"ulak/master\[{pid}\]: warning: reload refused: file "
                  rf"{inst.etc}/master.cf: line 2: ")
    assert unix_talk(inst.sock("echo")) == b"hello\n"

    # A good one is taken: the new service answers, and the unchanged one
    # keeps its process.
    [keeper] = inst.spawnd_pids("echo")
    (inst.etc / "master.cf").write_text(
        good_master + echo_line("upper", argv="/usr/bin/tr a-z A-Z"))
    inst.chown()
    r = inst.ulak("reload")
    assert r.returncode == 0, r
    assert "ulak: refreshing the ulak mail system\n" in r.stderr, r
    inst.wait_log(rf"ulak/master\[{pid}\]: reload -- version {VERSION}, "
                  rf"configuration {inst.etc}\n")
    assert unix_talk(inst.sock("upper"), b"abc\n") == b"ABC\n"
    assert inst.spawnd_pids("echo") == [keeper]
    assert inst.master_pid() == pid
    assert inst.ulak("stop").returncode == 0


def test_reload_restarts_changed_service_without_losing_work(inst):
    inst.configure(echo_line("echo", maxproc=2))
    start(inst)
    busy = socket.socket(socket.AF_UNIX)
    busy.settimeout(10)
    busy.connect(inst.sock("echo"))
    busy.sendall(b"before\n")
    assert busy.recv(100) == b"before\n"
    [old] = inst.spawnd_pids("echo")

    (inst.etc / "master.cf").write_text(echo_line("echo", maxproc=3))
    assert inst.ulak("reload").returncode == 0
    inst.wait_log(r"echo/unix: configuration changed, restarting\n")
    # The session in progress goes on with the old process...
    busy.sendall(b"during\n")
    assert busy.recv(100) == b"during\n"
    assert alive(old)
    # ...and new clients get a new one.
    assert unix_talk(inst.sock("echo"), b"new\n") == b"new\n"
    assert [p for p in inst.spawnd_pids("echo") if p != old]
    busy.close()
    end = time.time() + 10
    while alive(old) and time.time() < end:
        time.sleep(0.05)
    assert not alive(old), "the old process did not exit after its session"
    assert "exit status" not in inst.logtext()
    assert inst.ulak("stop").returncode == 0


def test_abort_kills_everything_at_once(inst):
    inst.configure(echo_line("echo"))
    start(inst)
    pid = inst.master_pid()
    busy = socket.socket(socket.AF_UNIX)
    busy.connect(inst.sock("echo"))
    busy.sendall(b"x\n")
    busy.settimeout(10)
    assert busy.recv(10) == b"x\n"
    procs = descendants(pid)
    assert any(b"/bin/cat" in cmdline(p) for p in procs), procs
    t0 = time.time()
    r = inst.ulak("abort")
    assert r.returncode == 0, r
    assert r.stderr == "ulak: aborting the ulak mail system\n", r
    assert time.time() - t0 < 5
    assert [p for p in procs if alive(p)] == []
    busy.close()


def test_stop_waits_for_sessions_then_leaves_nothing(inst):
    inst.configure(echo_line("echo"))
    start(inst)
    pid = inst.master_pid()
    busy = socket.socket(socket.AF_UNIX)
    busy.connect(inst.sock("echo"))
    busy.sendall(b"x\n")
    busy.settimeout(10)
    assert busy.recv(10) == b"x\n"
    procs = descendants(pid)
    stopper = subprocess.Popen([str(ULAK), "-c", str(inst.etc), "stop"],
                               user=USER, stderr=subprocess.PIPE)
    time.sleep(0.5)
    # The session in progress is allowed to finish.
    assert stopper.poll() is None
    busy.sendall(b"y\n")
    assert busy.recv(10) == b"y\n"
    busy.close()
    assert stopper.wait(timeout=30) == 0
    assert [p for p in procs if alive(p)] == []


def test_start_fg_runs_in_the_foreground(inst):
    inst.configure(echo_line("echo"))
    proc = subprocess.Popen([str(ULAK), "-c", str(inst.etc), "start-fg"],
                            user=USER, stderr=subprocess.PIPE, text=True)
    try:
        inst.wait_log(rf"ulak/master\[{proc.pid}\]: daemon started")
        assert inst.master_pid() == proc.pid
        assert unix_talk(inst.sock("echo")) == b"hello\n"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "master: daemon started -- version" in proc.stderr.read()


def test_check_says_what_happens_to_each_service(inst):
    inst.configure("tlsproxy unix - - n - 0 tlsproxy\n"
                   "cleanup unix n - n - 0 cleanup\n"
                   "cleanup unix n - n - 0 cleanup\n" + echo_line("echo"))
    r = inst.ulak("check")
    assert r.returncode == 0, r
    assert r.stderr.count("service cleanup/unix") == 1, r
    assert ("ulak: warning: master.cf: service tlsproxy/unix (tlsproxy): "
            f"accepted, but not available in ulak {VERSION} yet; the master does not "
            "start it\n") in r.stderr, r
    assert "echo/unix" not in r.stderr, r


def test_unknown_command_refused(inst):
    inst.configure("odd unix - n n - - frobd\n")
    r = inst.ulak("check")
    assert r.returncode == 1, r
    assert (f"ulak: error: file {inst.etc}/master.cf: line 1: service "
            'odd/unix: unknown command "frobd": neither ulak nor Postfix has '
            "such a daemon\n") in r.stderr, r
    r = inst.ulak("start")
    assert r.returncode == 1, r
    assert not (inst.data / "master.lock").exists()


def test_bind_failure_says_why(inst):
    with socket.socket() as taken:
        taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        inst.configure(f"127.0.0.1:{port} inet n - n - 1 spawn user=nobody "
                       "argv=/bin/cat\n")
        r = inst.ulak("start")
    assert r.returncode == 1, r
    assert (f"master: fatal: bind 127.0.0.1 port {port}: Address already in "
            f"use (service 127.0.0.1:{port}/inet)\n") in r.stderr, r
    assert "did not start: the master daemon ended with exit status 1" \
        in r.stderr, r
    assert inst.ulak("status").returncode == 1


def test_flush_without_a_queue_manager(inst):
    inst.configure(echo_line("echo"))
    start(inst)
    r = inst.ulak("flush")
    assert r.returncode == 1, r
    assert "flush: master.cf has no qmgr service" in r.stderr, r
    assert inst.ulak("stop").returncode == 0


@pytest.mark.skipif(not AS_ROOT, reason="needs root: a privileged instance")
@pytest.mark.parametrize("owner,want", [
    ("root", 'mail_owner: "root" has user id 0; the mail system must not '
             "run its queue processes as root: set mail_owner in "),
    ("ulak-no-such-user", "mail_owner: unknown user: ulak-no-such-user; "
                          "create that account (for example \"useradd "
                          "--system --no-create-home ulak-no-such-user\")"),
])
def test_privileged_instance_needs_a_mail_owner(inst, owner, want):
    inst.configure(echo_line("echo"), f"mail_owner = {owner}\n")
    e = {k: v for k, v in os.environ.items() if k != "MAIL_CONFIG"}
    r = subprocess.run([str(ULAK), "-c", str(inst.etc), "start"],
                       capture_output=True, text=True, env=e, timeout=60)
    assert r.returncode == 1, r
    assert f"master: fatal: {want}" in r.stderr, r
    assert not (inst.data / "master.lock").exists()


@pytest.mark.skipif(not AS_ROOT, reason="needs root: a privileged instance")
def test_privileged_instance_runs_commands_as_user(inst):
    """As root, spawn runs its command as user= (never root)."""
    inst.configure("whoami unix - n n - 1 spawn user=nobody "
                   "argv=/usr/bin/id -un\n", "mail_owner = postfix\n")
    e = inst.start_privileged()
    try:
        assert unix_talk(inst.sock("whoami"), b"") == b"nobody\n"
        st = os.stat(inst.queue / "private")
        assert st.st_uid == pwd.getpwnam("postfix").pw_uid
    finally:
        subprocess.run([str(ULAK), "-c", str(inst.etc), "stop"], env=e,
                       timeout=60)


def test_wakeup_pokes_the_service(inst):
    """The wakeup column: the master writes "W" to the service's socket
    every N seconds; here a spawn command appends what it reads to a
    file."""
    ticks = inst.root / "ticks"
    inst.configure("tick unix - n n 1 1 spawn user=nobody argv=/usr/bin/dd "
                   f"of={ticks} oflag=append conv=notrunc status=none\n")
    start(inst)
    end = time.time() + 10
    while time.time() < end:
        if ticks.exists() and ticks.read_bytes().count(b"W") >= 2:
            break
        time.sleep(0.1)
    assert ticks.read_bytes().startswith(b"WW"), ticks.read_bytes()
    assert set(ticks.read_bytes()) == {ord("W")}
    assert inst.ulak("stop").returncode == 0


def test_master_cf_overrides_reach_the_daemon(inst):
    """-o NAME=VALUE on the master.cf line is the daemon's setting: here
    the spawn time limit, which ends a command that runs too long."""
    inst.configure("slow unix - n n - 1 spawn -o slow_time_limit=1s "
                   "user=nobody argv=/bin/cat\n")
    start(inst)
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(10)
        s.connect(inst.sock("slow"))
        t0 = time.time()
        assert s.recv(10) == b""  # closed when the command is killed
        assert time.time() - t0 < 5
    text = inst.wait_log(r"ulak/spawn\[\d+\]: warning: command /bin/cat "
                         r"killed by signal 9\n")
    assert re.search(r"ulak/spawn\[\d+\]: warning: command /bin/cat: time "
                     r"limit of 1s exceeded, killing it\n", text), text
    assert inst.ulak("stop").returncode == 0


def test_reload_that_cannot_bind_keeps_the_old_set(inst):
    inst.configure(echo_line("echo"))
    start(inst)
    pid = inst.master_pid()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        (inst.etc / "master.cf").write_text(
            echo_line("echo") + f"127.0.0.1:{port} inet n - n - 1 spawn "
            "user=nobody argv=/bin/cat\n")
        assert inst.ulak("reload").returncode == 0
        inst.wait_log(rf"ulak/master\[{pid}\]: warning: reload refused: bind "
                      rf"127.0.0.1 port {port}: Address already in use "
                      rf"\(service 127.0.0.1:{port}/inet\); the running "
                      r"configuration is kept\n")
    assert unix_talk(inst.sock("echo")) == b"hello\n"
    assert "reload --" not in inst.logtext()
    assert inst.ulak("stop").returncode == 0


def test_children_leave_when_the_master_dies(inst):
    """A master killed outright: its children notice (end of file on the
    status socket), finish and exit, and a new master can start."""
    inst.configure(echo_line("echo"))
    start(inst)
    pid = inst.master_pid()
    assert unix_talk(inst.sock("echo")) == b"hello\n"
    procs = descendants(pid)
    assert len(procs) >= 2, procs
    os.kill(pid, signal.SIGKILL)
    end = time.time() + 10
    while any(alive(p) for p in procs) and time.time() < end:
        time.sleep(0.05)
    assert [p for p in procs if alive(p)] == []
    r = inst.ulak("status")
    assert r.returncode == 1, r
    start(inst)
    assert inst.master_pid() != pid
    assert unix_talk(inst.sock("echo")) == b"hello\n"
    assert inst.ulak("stop").returncode == 0


def test_master_service_disable(inst):
    """$master_service_disable: by type, or by name/type; a reload applies
    it."""
    port = free_port()
    inst.configure(echo_line("echo") + echo_line("other")
                   + f"127.0.0.1:{port} inet n - n - 1 spawn user=nobody "
                   "argv=/bin/cat\n",
                   "master_service_disable = inet, other/unix\n")
    start(inst)
    assert unix_talk(inst.sock("echo")) == b"hello\n"
    assert not os.path.exists(inst.sock("other"))
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5)
    main = (inst.etc / "main.cf").read_text()
    (inst.etc / "main.cf").write_text(
        main.replace("master_service_disable = inet, other/unix\n", ""))
    assert inst.ulak("reload").returncode == 0
    inst.wait_log(r"reload -- version")
    assert unix_talk(inst.sock("other"), b"x\n") == b"x\n"
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"tcp\n")
        assert s.recv(10) == b"tcp\n"
    assert inst.ulak("stop").returncode == 0


def test_service_name_in_overrides(inst):
    """Debian's "-o syslog_name=postfix/$service_name": $service_name is
    the master.cf service the daemon runs for."""
    inst.configure("tagged unix - n n - 1 spawn "
                   "-o syslog_name=ulak/$service_name "
                   "user=nobody argv=/nonexistent/x\n")
    start(inst)
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(inst.sock("tagged"))
        inst.wait_log(r" ulak/tagged/spawn\[\d+\]: fatal: command "
                      r"/nonexistent/x: No such file or directory\n")
    assert inst.ulak("stop").returncode == 0
