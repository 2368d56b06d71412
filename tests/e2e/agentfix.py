"""What the delivery agent tests share: an unprivileged instance (the
test_master fixture) running local, virtual, error, retry and
discard, and a helper that plays the queue manager for one request."""
import os
import pathlib
import pwd
import re

import ipcframe
import qwrite
from test_master import AS_ROOT, USER, inst  # noqa: F401

MASTER_CF = (
    "local unix - n n - - local\n"
    "virtual unix - n n - - virtual\n"
    "error unix - - n - - error\n"
    "retry unix - - n - - error\n"
    "discard unix - - n - - discard\n")

ME = pwd.getpwnam(USER) if AS_ROOT else pwd.getpwuid(os.getuid())


def start(inst, main=""):
    inst.configure(MASTER_CF, main)
    r = inst.ulak("start")
    assert r.returncode == 0, r


def chown(path):
    if AS_ROOT:
        for p in [path, *pathlib.Path(path).rglob("*")] if os.path.isdir(
                path) else [path]:
            os.lchown(p, ME.pw_uid, ME.pw_gid)


def deliver(inst, service, rcpts, content=b"Subject: t\n\nbody\n",
            sender="alice@example.test", nexthop="", queue_id=None,
            write=True, **extra):
    """Write a queue file in active/, send one deliver_req to SERVICE,
    return (queue_id, statuses)."""
    qid = queue_id or qwrite.new_id()
    data, info = qwrite.build(sender, rcpts, content)
    if write:
        qwrite.write(str(inst.queue), "active", qid, data,
                     ME.pw_uid, ME.pw_gid)
    sec, usec = info["arrival"]
    req_rcpts = []
    for r, off in zip(rcpts, info["rcpt_offsets"]):
        addr, orig = (r, None) if isinstance(r, str) else r
        req_rcpts.append({"address": addr, "orig_rcpt": orig,
                          "offset": off})
    st = ipcframe.deliver(inst.sock(service), queue_id=qid,
                          queue_name="active",
                          content_offset=info["content_offset"],
                          sender=sender, arrival_time=sec,
                          arrival_usec=usec, nexthop=nexthop,
                          rcpts=req_rcpts, **extra)
    return qid, st


DELAYS = r"delay=\d+(\.\d\d?)?, delays=(\d+(\.\d\d?)?/){3}\d+(\.\d\d?)?"


def log_line(inst, qid, rest):
    """Wait for QID's delivery line; REST is a regex after 'to=<...>'."""
    pat = re.escape(f"{qid}: ") + rest
    text = inst.wait_log(pat)
    return re.search(pat, text).group(0)
