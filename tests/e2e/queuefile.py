"""Queue files for the end-to-end tests, written from Python exactly as
docs/QUEUE.md specifies them (no ulak command writes queue files yet), and
put where the queue folders and hashing of docs/QUEUE.md put them."""
import os
import struct


def rec(t, data=b""):
    if isinstance(data, str):
        data = data.encode()
    assert len(data) <= 4096
    return t.encode() + struct.pack(">H", len(data)) + data


def fixed(*fields):
    return " ".join("%15d" % f for f in fields)


def queue_file(sender="alice@example.test", rcpts=None, headers=None,
               body=None, arrival=1796064070, attrs=None, envid=None,
               ret=None, warn=None, extracted=b"", extracted_rcpts=0):
    """A queue file as docs/QUEUE.md specifies it."""
    if rcpts is None:
        rcpts = [{"addr": "bob@example.test"}]
    if headers is None:
        headers = ["Subject: hello!"]
    if body is None:
        body = ["", "the body of the message"]
    env = rec("T", "%d.000042" % arrival)
    if warn is not None:
        env += rec("W", "%15d" % warn)
    env += rec("F", sender)
    if envid:
        env += rec("V", envid)
    if ret:
        env += rec("D", str(ret))
    for name, value in (attrs or {"rewrite_context": "local"}).items():
        env += rec("A", f"{name}={value}")
    for r in rcpts:
        if "notify" in r:
            env += rec("N", str(r["notify"]))
        if "orcpt" in r:
            env += rec("P", r["orcpt"])
        if "orig" in r:
            env += rec("O", r["orig"])
        env += rec("r" if r.get("done") else "R", r["addr"])
    content = b""
    size = 0
    for i, line in enumerate(headers + body):
        if i == len(headers) and body:
            content += rec("B")
        data = line.encode() if isinstance(line, str) else line
        size += len(data) + 1
        while len(data) > 4096:
            content += rec("C", data[:4096])
            data = data[4096:]
        content += rec("L", data)
    offset = 3 + 79 + len(env)
    xtra = offset + 3 + len(content)
    nrcpt = len(rcpts) + extracted_rcpts
    head = rec("S", fixed(size, offset, nrcpt, xtra, 1))
    return (head + env + rec("M") + content + rec("X") + extracted
            + rec("E"))


def id_hash(qid, depth):
    """The hashed sub-folder names of a queue ID: the hex digits of its
    creation microseconds (docs/QUEUE.md, "Folders")."""
    if "z" in qid:  # long form: 6+ chars of seconds, 4 of usec, z, inode
        alpha = ("0123456789BCDFGHJKLMNPQRSTVWXYZ"
                 "bcdfghjklmnpqrstvwxyz")
        z = qid.rindex("z")
        usec = 0
        for c in qid[z - 4:z]:
            usec = usec * 52 + alpha.index(c)
        digits = "%05X" % usec
    else:
        digits = qid[:5]
    return list(digits[:depth])


def short_id(usec, ino):
    """A short queue ID from creation microseconds and an inode number."""
    return "%05X%X" % (usec, ino)


def place(top, folder, qid, data, depth=1,
          hashed=("deferred", "defer")):
    """Write DATA as queue file QID in FOLDER under the queue directory
    TOP, in its hashed sub-folder; returns the path."""
    d = os.path.join(str(top), folder)
    if folder in hashed:
        d = os.path.join(d, *id_hash(qid, depth))
    os.makedirs(d, exist_ok=True)
    p = os.path.join(d, qid)
    with open(p, "wb") as f:
        f.write(data)
    return p


def place_by_inode(top, folder, data, usec=0x3C0CC, depth=1,
                   hashed=("deferred", "defer")):
    """Write DATA as a queue file whose short ID matches its inode, as the
    queue writer names it; returns (queue ID, path)."""
    d = os.path.join(str(top), folder)
    os.makedirs(d, exist_ok=True)
    tmp = os.path.join(d, "tmp.%d.0" % os.getpid())
    with open(tmp, "wb") as f:
        f.write(data)
    qid = short_id(usec, os.stat(tmp).st_ino)
    if folder in hashed:
        d = os.path.join(d, *id_hash(qid, depth))
        os.makedirs(d, exist_ok=True)
    p = os.path.join(d, qid)
    os.rename(tmp, p)
    return qid, p


def defer_entry(rcpt, reason, status="4.4.1", action="delayed",
                offset=None):
    """One per-message log entry (docs/QUEUE.md, "Per-message logs")."""
    e = "\nrecipient=%s\n" % rcpt
    if offset is not None:
        e += "offset=%d\n" % offset
    return e + "status=%s\naction=%s\nreason=%s\n\n" % (status, action,
                                                           reason)
