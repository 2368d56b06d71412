"""postalias and newaliases compared with Postfix 3.7's postalias on the
same aliases(5) files: stored values, the "@" and YP_* entries, warnings,
-q, -q -, -s, -d, -i, and newaliases with alias_database from main.cf."""
import os
import re

import pytest

from test_postmap import (MAIN_CF, SRC, both, dirs, need_postfix, postfix,
                          same, ulak)

TYPES = ["hash", "btree", "lmdb", "cdb"]
__all__ = ["dirs"]


def alias_names():
    names = []
    for line in (SRC / "aliases.in").read_text().splitlines():
        if line and not line[0].isspace() and not line.startswith("#"):
            names.append(line.split(":")[0].strip('"'))
    return names + ["POSTMASTER", "@", "nosuch", "yp_master_name"]


def stable(text):
    """The YP_LAST_MODIFIED value is the build time: blank it."""
    return re.sub(r"(YP_LAST_MODIFIED:\t)\d+", r"\1T", text)


def dump_set(r):
    return sorted(stable(r.out).splitlines())


@pytest.mark.parametrize("typ", TYPES)
def test_build_and_query_both_ways(dirs, typ):
    need_postfix()
    pf, ul, conf = dirs
    a, b = both(dirs, f"{typ}:aliases", prog="postalias")
    same(a, b)
    for name in alias_names():
        # ulak reads Postfix's table and Postfix reads ulak's.
        want = postfix("postalias", "-q", name, f"{typ}:aliases", cwd=pf,
                       conf=conf)
        got = ulak("postalias", "-q", name, f"{typ}:{pf}/aliases", cwd=pf,
                   conf=conf)
        assert (got.rc, got.out, got.err) == (want.rc, want.out, want.err)
        got = postfix("postalias", "-q", name, f"{typ}:{ul}/aliases",
                      cwd=ul, conf=conf)
        assert (got.rc, got.out) == (want.rc, want.out), name


@pytest.mark.parametrize("typ", ["hash", "btree", "lmdb"])
def test_dump(dirs, typ):
    need_postfix()
    same(*both(dirs, f"{typ}:aliases", prog="postalias"))
    a, b = both(dirs, "-s", f"{typ}:aliases", prog="postalias")
    assert (a.rc, a.err) == (b.rc, b.err)
    assert dump_set(a) == dump_set(b)
    assert "YP_MASTER_NAME:\thost.example.com" in b.out
    assert "@:\t@" in b.out


@pytest.mark.parametrize("typ", TYPES)
def test_query_stdin(dirs, typ):
    need_postfix()
    same(*both(dirs, f"{typ}:aliases", prog="postalias"))
    stdin = "\n".join(alias_names()) + "\n"
    same(*both(dirs, "-q", "-", f"{typ}:aliases", stdin=stdin,
               prog="postalias"))


@pytest.mark.parametrize("typ", ["hash", "btree", "lmdb"])
def test_delete_and_incremental(dirs, typ):
    need_postfix()
    same(*both(dirs, f"{typ}:aliases", prog="postalias"))
    same(*both(dirs, "-d", "Root", f"{typ}:aliases", prog="postalias"))
    same(*both(dirs, "-d", "root", f"{typ}:aliases", prog="postalias"))
    stdin = "new: a,b\n  c\nTeam: dup\nbad\n"
    same(*both(dirs, "-i", f"{typ}:aliases", stdin=stdin, prog="postalias"))
    a, b = both(dirs, "-s", f"{typ}:aliases", prog="postalias")
    assert dump_set(a) == dump_set(b)


@pytest.mark.parametrize("flag", ["-r", "-w", "-f"])
def test_flags(dirs, flag):
    need_postfix()
    same(*both(dirs, flag, "hash:aliases", prog="postalias"))
    for name in ["dup", "DUP", "Root", "root"]:
        same(*both(dirs, flag, "-q", name, "hash:aliases", prog="postalias"))


@pytest.mark.parametrize("args", [
    [],
    ["-q", "x", "hash:none"],
    ["none"],
    ["-q", "x", "-s", "aliases"],
    ["-c", "/nonexistent", "aliases"],
])
def test_errors(dirs, args):
    need_postfix()
    same(*both(dirs, *args, prog="postalias"))


def test_newaliases(dirs):
    need_postfix()
    pf, ul, conf = dirs
    tmp_path = pf.parent
    for d in (pf, ul):
        (d / "aliases2").write_text("r2: y\nBad\n")
    results = []
    for d, runner in ((pf, postfix), (ul, ulak)):
        c = tmp_path / f"conf-{d.name}"
        c.mkdir()
        (c / "main.cf").write_text(
            MAIN_CF + f"alias_database = hash:{d}/aliases, btree:{d}/aliases2\n")
        if runner is postfix:
            # Postfix's newaliases is its sendmail -bi.
            r = runner("sendmail", "-bi", cwd=d, conf=c)
        else:
            r = ulak("newaliases", cwd=d, conf=c)
        results.append((r.rc, r.out, r.err.replace(str(d), "DIR")))
        assert (d / "aliases.db").exists() and (d / "aliases2.db").exists()
    assert results[0] == results[1]
    a = postfix("postalias", "-q", "r2", f"btree:{ul}/aliases2", cwd=ul,
                conf=conf)
    assert (a.rc, a.out) == (0, "y\n")
    a = postfix("postalias", "-q", "root", f"hash:{ul}/aliases", cwd=ul,
                conf=conf)
    assert (a.rc, a.out) == (0, "admin, Bob@Example.COM\n")


def test_newaliases_options(dirs):
    """-C names the configuration, -oA the database, as with sendmail."""
    pf, ul, conf = dirs
    tmp_path = pf.parent
    c = tmp_path / "c"
    c.mkdir()
    (c / "main.cf").write_text(MAIN_CF + f"alias_database = hash:{ul}/aliases\n")
    r = ulak("newaliases", "-C", c, cwd=ul, conf=conf)
    assert r.rc == 0
    assert (ul / "aliases.db").exists()
    r = ulak("newaliases", f"-oAbtree:{ul}/aliases2", cwd=ul, conf=c)
    assert r.rc == 1
    assert r.err == f"postalias: fatal: open {ul}/aliases2: No such file or directory\n"
    (ul / "aliases2").write_text("x: y\n")
    r = ulak("newaliases", f"-oAbtree:{ul}/aliases2", cwd=ul, conf=c)
    assert (r.rc, r.err) == (0, "")
    r = ulak("postalias", "-q", "x", f"btree:{ul}/aliases2", cwd=ul, conf=c)
    assert (r.rc, r.out) == (0, "y\n")


def test_newaliases_errors(dirs):
    """newaliases' own errors are sendmail's: named newaliases, exit 75."""
    need_postfix()
    pf, ul, conf = dirs
    for args in (["-C", "/nonexistent"], ["-C"]):
        a = postfix("sendmail", "-bi", *args, cwd=pf, conf=conf)
        b = ulak("newaliases", *args, cwd=ul, conf=conf)
        # Postfix's is sendmail -bi: its name (and argv[0]) differ.
        def norm(text):
            text = text.replace("usage: sendmail", "usage: newaliases")
            return re.sub(r"^\S*(sendmail|newaliases):", "newaliases:", text,
                          flags=re.M)
        assert (b.rc, norm(b.err)) == (a.rc, norm(a.err))
