"""A small writer of ulak queue files (docs/QUEUE.md) for tests that play
the queue manager: the envelope, the content (long lines split into C
records) and the size record, with the offsets a deliver_req needs."""
import os
import struct
import time

REC_MAX = 4096


def rec(t, data=b""):
    if isinstance(data, str):
        data = data.encode()
    assert len(data) <= REC_MAX
    return t.encode() + struct.pack(">H", len(data)) + data


def build(sender, rcpts, content, arrival=None):
    """RCPTS: list of address or (address, orig).  CONTENT: bytes, the
    message with LF line ends.  Returns (file bytes, info) where info has
    content_offset, rcpt_offsets, arrival (seconds, usec)."""
    arrival = arrival or time.time()
    sec, usec = int(arrival), int((arrival % 1) * 1e6)
    size_len = 3 + 79
    env = rec("T", f"{sec}.{usec:06d}") + rec("F", sender)
    offsets = []
    for r in rcpts:
        addr, orig = (r, None) if isinstance(r, str) else r
        if orig:
            env += rec("O", orig)
        offsets.append(size_len + len(env))
        env += rec("R", addr)
    content_offset = size_len + len(env)
    body = rec("M")
    lines = content.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    msize = 0
    in_body = False
    for line in lines:
        if not in_body and line == b"":
            body += rec("B")
            in_body = True
        while len(line) > REC_MAX:
            body += rec("C", line[:REC_MAX])
            msize += REC_MAX
            line = line[REC_MAX:]
        body += rec("L", line)
        msize += len(line) + 1
    xtra_offset = content_offset + len(body)
    body += rec("X") + rec("E")
    size = " ".join(f"{v:15d}" for v in
                    (msize, content_offset, len(rcpts), xtra_offset, 1))
    data = rec("S", size) + env + body
    return data, {"content_offset": content_offset,
                  "rcpt_offsets": offsets, "arrival": (sec, usec)}


def write(queue_dir, folder, queue_id, data, uid=None, gid=None):
    path = os.path.join(queue_dir, folder, queue_id)
    with open(path, "wb") as f:
        f.write(data)
    os.chmod(path, 0o600)
    if uid is not None:
        os.chown(path, uid, gid)
    return path


def new_id():
    """A queue ID of the short shape (five hex digits of microseconds,
    then more hex)."""
    t = time.time()
    return f"{int((t % 1) * 1e6):05X}{os.getpid() & 0xFFFF:X}{int(t) & 0xFFF:03X}"
