"""A stand-in delivery agent for the qmgr tests, run by spawn(8) with its
stdin and stdout on the qmgr's connection: it reads one deliver_req frame
(ipc_msgs.def), appends what it got as one JSON line to the journal file
named by its first argument, and answers one deliver_status per recipient,
the last with done=1.  The recipient's local part decides the outcome:
  fail...   failed, 5.1.1
  defer...  delayed, 4.4.1
  down...   delayed, 4.4.1, and the destination as a whole failed
            (dest_fail = 1 on the last frame: negative feedback)
  slow...   delivered after a second (for concurrency)
  crash...  the agent exits without an answer
  hang...   no answer for five seconds
  anything else delivered, 2.0.0
"""
import json
import os
import struct
import sys
import time

DELIVER_REQ, DELIVER_STATUS = 1, 2


def read_exact(f, n):
    data = b""
    while len(data) < n:
        chunk = f.read(n - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


def fields(data):
    out = []
    while data:
        num, n = struct.unpack(">HI", data[:6])
        out.append((num, data[6:6 + n]))
        data = data[6 + n:]
    return out


def frame(typ, reqid, flds):
    body = b""
    for num, val in flds:
        body += struct.pack(">HI", num, len(val)) + val
    return struct.pack(">IHHI", 12 + len(body), typ, 2, reqid) + body


def main():
    journal = sys.argv[1]
    inp = sys.stdin.buffer
    hdr = read_exact(inp, 12)
    ln, typ, ver, reqid = struct.unpack(">IHHI", hdr)
    body = read_exact(inp, ln - 12)
    assert typ == DELIVER_REQ, typ
    req = {"rcpts": []}
    names = {1: "queue_id", 2: "queue_name", 4: "sender", 9: "nexthop"}
    for num, val in fields(body):
        if num in names:
            req[names[num]] = val.decode()
        elif num == 10:
            req["flags"] = struct.unpack(">i", val)[0]
        elif num == 11:
            r = {}
            for n2, v2 in fields(val):
                if n2 == 1:
                    r["address"] = v2.decode()
                elif n2 == 2:
                    r["orig_rcpt"] = v2.decode()
                elif n2 == 5:
                    r["offset"] = struct.unpack(">Q", v2)[0]
            req["rcpts"].append(r)
    req["start"] = time.time()
    local = [r["address"].split("@")[0] for r in req["rcpts"]]
    if any(x.startswith("slow") for x in local):
        time.sleep(1)
    if any(x.startswith("hang") for x in local):
        time.sleep(5)
    req["end"] = time.time()
    with open(journal, "a") as j:
        j.write(json.dumps(req) + "\n")
    if any(x.startswith("crash") for x in local):
        os._exit(0)
    out = sys.stdout.buffer
    for i, r in enumerate(req["rcpts"]):
        lp = r["address"].split("@")[0]
        if lp.startswith("fail"):
            st, act, why = "5.1.1", "failed", "user unknown (test)"
        elif lp.startswith("defer"):
            st, act, why = "4.4.1", "delayed", "connection refused (test)"
        elif lp.startswith("down"):
            st, act, why = "4.4.1", "delayed", \
                "connect to mx.dead.test[127.0.0.1]:25: Connection refused"
        else:
            st, act, why = "2.0.0", "delivered", "delivered (test)"
        flds = [(1, struct.pack(">Q", r["offset"])), (2, st.encode()),
                (3, act.encode()), (4, why.encode()), (5, b"test")]
        if i == len(req["rcpts"]) - 1:
            flds.append((8, struct.pack(">i", 1)))
            if any(x.startswith("down") for x in local):
                flds.append((9, struct.pack(">i", 1)))
        out.write(frame(DELIVER_STATUS, reqid, flds))
    out.flush()


main()
