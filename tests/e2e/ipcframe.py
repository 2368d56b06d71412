"""Encoder and decoder for ulak's ipc frames (src/lib/ipc.h), for tests
that play one end of a socket.

A frame: u32 len (whole frame), u16 type, u16 version, u32 request_id,
then fields {u16 field, u32 len, bytes}; numbers big-endian.  STR is the
bytes, INT 4 bytes signed, U64 8 bytes, a GROUP a nested field list (one
field per element of a repeated group).  The message numbers are those of
src/global/ipc_msgs.def.
"""
import socket
import struct

DELIVER_REQ = (1, 2)      # type, version
DELIVER_STATUS = (2, 2)

# deliver_req fields
REQ_FIELDS = {
    "queue_id": (1, "str"), "queue_name": (2, "str"),
    "content_offset": (3, "u64"), "sender": (4, "str"),
    "envid": (5, "str"), "ret": (6, "int"), "arrival_time": (7, "u64"),
    "arrival_usec": (8, "int"), "nexthop": (9, "str"), "flags": (10, "int"),
    "active_usec": (12, "u64"),
}
RCPT_FIELDS = {
    "address": (1, "str"), "orig_rcpt": (2, "str"), "notify": (3, "int"),
    "orcpt": (4, "str"), "offset": (5, "u64"),
}
STATUS_FIELDS = {
    1: ("offset", "u64"), 2: ("status", "str"), 3: ("action", "str"),
    4: ("reason", "str"), 5: ("relay", "str"), 6: ("remote_mta", "str"),
    7: ("diag_code", "str"), 8: ("done", "int"), 9: ("dest_fail", "int"),
}


def field(num, kind, value):
    if kind == "str":
        data = value.encode() if isinstance(value, str) else value
    elif kind == "int":
        data = struct.pack(">i", value)
    elif kind == "u64":
        data = struct.pack(">Q", value)
    else:
        data = value
    return struct.pack(">HI", num, len(data)) + data


def fields(spec, values):
    out = b""
    for name, value in values.items():
        if value is None:
            continue
        num, kind = spec[name]
        out += field(num, kind, value)
    return out


def frame(type_version, request_id, body):
    t, v = type_version
    return struct.pack(">IHHI", 12 + len(body), t, v, request_id) + body


def deliver_req(request_id=1, rcpts=(), **values):
    """A deliver_req frame; RCPTS is a list of dicts of RCPT_FIELDS."""
    body = fields(REQ_FIELDS, values)
    for r in rcpts:
        body += field(11, "group", fields(RCPT_FIELDS, r))
    return frame(DELIVER_REQ, request_id, body)


def parse_fields(body):
    out = []
    off = 0
    while off < len(body):
        num, n = struct.unpack_from(">HI", body, off)
        off += 6
        out.append((num, body[off:off + n]))
        off += n
    assert off == len(body), "field runs past the frame"
    return out


def decode_status(body):
    msg = {}
    for num, data in parse_fields(body):
        name, kind = STATUS_FIELDS[num]
        if kind == "str":
            msg[name] = data.decode()
        elif kind == "int":
            msg[name] = struct.unpack(">i", data)[0]
        else:
            msg[name] = struct.unpack(">Q", data)[0]
    return msg


def recv_frame(sock):
    """(type, version, request_id, body), or None at end of file."""
    hdr = b""
    while len(hdr) < 12:
        chunk = sock.recv(12 - len(hdr))
        if not chunk:
            if hdr:
                raise EOFError("end of file inside a frame header")
            return None
        hdr += chunk
    n, t, v, rid = struct.unpack(">IHHI", hdr)
    body = b""
    while len(body) < n - 12:
        chunk = sock.recv(n - 12 - len(body))
        if not chunk:
            raise EOFError("end of file inside a frame")
        body += chunk
    return t, v, rid, body


def deliver(path, request_id=7, timeout=30, **req):
    """Connect to an agent's socket PATH, send one deliver_req, return the
    decoded deliver_status messages until the one with done=1."""
    out = []
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(timeout)
        s.connect(path)
        s.sendall(deliver_req(request_id, **req))
        while True:
            f = recv_frame(s)
            if f is None:
                break
            t, v, rid, body = f
            assert (t, v) == DELIVER_STATUS, (t, v)
            assert rid == request_id, rid
            st = decode_status(body)
            out.append(st)
            if st.get("done"):
                break
    return out


# anvil (src/global/ipc_msgs.def: anvil_req, anvil_reply)
ANVIL_REQ = (7, 1)
ANVIL_REPLY = (8, 1)
ANVIL_OPS = {"connect": 1, "disconnect": 2, "message": 3, "recipient": 4,
             "newtls": 5, "newtls_report": 6, "auth": 7, "lookup": 8}
ANVIL_REQ_FIELDS = {"op": (1, "int"), "service": (2, "str"),
                    "client": (3, "str")}
ANVIL_REPLY_FIELDS = {
    1: "status", 2: "count", 3: "rate", 4: "conn_rate", 5: "mail_rate",
    6: "rcpt_rate", 7: "ntls_rate", 8: "auth_rate",
}


def anvil_req(request_id, op, service, client):
    """An anvil_req frame; OP is a name of ANVIL_OPS or a number."""
    op = ANVIL_OPS.get(op, op)
    return frame(ANVIL_REQ, request_id, fields(
        ANVIL_REQ_FIELDS, {"op": op, "service": service, "client": client}))


def decode_anvil_reply(body):
    """The fields of an anvil_reply, every one (absent ones are 0)."""
    msg = {name: 0 for name in ANVIL_REPLY_FIELDS.values()}
    for num, data in parse_fields(body):
        msg[ANVIL_REPLY_FIELDS[num]] = struct.unpack(">i", data)[0]
    return msg
