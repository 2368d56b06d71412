"""Issue 3's crash test: 2,000 messages submitted with sendmail while the
queue and delivery processes (pickup, qmgr, virtual) are killed with
SIGKILL at random, ten times.  Afterwards every message is in its Maildir
(a repeat is allowed only for a delivery that completed but was not yet
marked done), none is lost, and nothing is in corrupt/."""
import os
import random
import re
import signal
import subprocess
import threading
import time

from agentfix import ME, USER, chown, inst  # noqa: F401
from conftest import BIN
from test_master import cmdline, descendants

N = int(os.environ.get("ULAK_CRASH_MESSAGES", "2000"))
KILLS = 10
MASTER = (
    "pickup unix n - n 60 1 pickup\n"
    "qmgr unix n - n 300 1 qmgr\n"
    "virtual unix - n n - - virtual\n")
VICTIMS = (b"pickup", b"qmgr", b"virtual")


def submit(inst, first, last, failures):
    """Messages FIRST..LAST-1, each by its own sendmail process (a few at
    a time), as an application would submit them."""
    e = {k: v for k, v in os.environ.items() if k != "MAIL_CONFIG"}
    for i in range(first, last):
        r = subprocess.run(
            [str(BIN / "sendmail"), "-C", str(inst.etc), "-f",
             "load@example.test", "box@virt.test"],
            input=f"Subject: crash {i}\nX-Seq: {i}\n\nmessage {i}\n",
            capture_output=True, text=True, env=e, timeout=120, user=USER,
            cwd="/")
        if r.returncode != 0:
            failures.append((i, r.returncode, r.stderr))


def victims(inst):
    out = []
    for p in descendants(inst.master_pid()):
        argv = cmdline(p)
        if len(argv) > 2 and argv[1] == b"--daemon" and argv[2] in VICTIMS:
            out.append(p)
    return out


def test_sigkill_loses_nothing(inst):
    base = inst.root / "vmail"
    base.mkdir()
    chown(base)
    (inst.root / "vmailbox").write_text("box@virt.test box/\n")
    inst.configure(MASTER,
                   "myhostname = mx.example.test\n"
                   "alias_maps =\n"
                   "queue_run_delay = 1s\n"
                   "minimal_backoff_time = 1s\n"
                   "maximal_backoff_time = 2s\n"
                   "service_throttle_time = 1s\n"
                   "virtual_mailbox_domains = virt.test\n"
                   f"virtual_mailbox_base = {base}\n"
                   f"virtual_mailbox_maps = texthash:{inst.root}/vmailbox\n"
                   f"virtual_uid_maps = static:{ME.pw_uid}\n"
                   f"virtual_gid_maps = static:{ME.pw_gid}\n"
                   "virtual_minimum_uid = 1\n")
    r = inst.ulak("start")
    assert r.returncode == 0, r

    failures = []
    threads = [threading.Thread(target=submit,
                                args=(inst, k * N // 4, (k + 1) * N // 4,
                                      failures)) for k in range(4)]
    for t in threads:
        t.start()
    rng = random.Random(1)
    killed = []
    # The kills go on while the messages are submitted and delivered (the
    # submission may end first on a fast machine).
    stop = time.time() + 120
    while len(killed) < KILLS and time.time() < stop:
        time.sleep(rng.uniform(0.2, 1.0))
        procs = victims(inst)
        if procs:
            p = rng.choice(procs)
            name = cmdline(p)[2:3]
            try:
                os.kill(p, signal.SIGKILL)
                killed.append(name)
            except ProcessLookupError:
                pass
    for t in threads:
        t.join()
    # Every submission was acknowledged: sendmail's success means the
    # message was on disk in maildrop/.
    assert failures == [], failures[:5]
    assert len(killed) == KILLS, killed

    new = base / "box" / "new"
    seen = {}
    deadline = time.time() + 300
    while time.time() < deadline:
        seen = {}
        for f in new.iterdir() if new.exists() else []:
            m = re.search(rb"\nX-Seq: (\d+)\n", f.read_bytes())
            if m:
                seen[int(m.group(1))] = seen.get(int(m.group(1)), 0) + 1
        if len(seen) == N:
            break
        time.sleep(1)
    missing = sorted(set(range(N)) - set(seen))
    assert missing == [], (f"{len(missing)} lost, e.g. {missing[:10]}; "
                           f"killed {killed}")
    corrupt = [p for p in (inst.queue / "corrupt").rglob("*") if p.is_file()]
    assert corrupt == []
    repeats = sum(c - 1 for c in seen.values())
    # A repeat needs a kill between a delivery and its done mark: at most
    # one per kill of a delivery agent or of qmgr, times the deliveries in
    # flight then (the default concurrency, 20).
    print(f"crash test: {N} messages, killed {killed}, {repeats} repeats")
    assert repeats <= KILLS * 20, repeats
