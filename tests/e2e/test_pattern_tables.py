"""regexp:, pcre:, cidr: and the in-memory table types answer `postmap -q`
exactly as Postfix 3.7's postmap does: same output, same exit code, same
warnings (the malformed-rule warnings carry the file and line).

The tables live in tests/data/dict/ and are copied into a temporary folder,
so both programs print the same paths.  Postfix's own postmap is Debian's
/usr/sbin/postmap; the tests are skipped where it is not installed.
"""
import os
import pathlib
import shutil
import time
import subprocess

import pytest

from conftest import DATA, run

POSTFIX_POSTMAP = pathlib.Path("/usr/sbin/postmap")

pytestmark = pytest.mark.skipif(not POSTFIX_POSTMAP.exists(),
                                reason="Postfix's postmap is not installed")

MIME_KEYS = [
    'Content-Disposition: attachment; filename="evil.exe"',
    'Content-Disposition: attachment; filename=evil.exe',
    'Content-Disposition: attachment; filename="report.pdf"',
    'Content-Type: application/octet-stream; name="run.bat"',
    'Content-Type: application/octet-stream; name="RUN.BAT"',
    'content-type: application/x-msdownload; name="setup.com"',
    'Content-Type: application/octet-stream; name="x.chm"',
    'Content-Type: application/octet-stream; name="x.cpl"',
    'Content-Type: application/octet-stream; name="x.lnk"',
    'Content-Type: application/octet-stream; name="x.asd"',
    'Content-Type: application/octet-stream; name="x.hlp"',
    'Content-Type: application/octet-stream; name="x.ocx"',
    'Content-Type: application/octet-stream; name="x.reg"',
    'Content-Type: application/octet-stream; name="x.cmd"',
    'Content-Type: application/octet-stream; name="x.dll"',
    'Content-Type: application/octet-stream; name="x.vxd"',
    'Content-Type: application/octet-stream; name="x.pif"',
    'Content-Type: application/octet-stream; name="x.scr"',
    'Content-Type: application/octet-stream; name="x.hta"',
    'Content-Type: application/octet-stream; name="x.js"',
    'Content-Type: application/octet-stream; name="x.jse"',
    'Content-Type: application/octet-stream; name="x.shm"',
    'Content-Type: application/octet-stream; name="x.shs"',
    'Content-Type: application/octet-stream; name="x.vbs"',
    'Content-Type: application/octet-stream; name="x.vbx"',
    'Content-Type: application/octet-stream; name="x.wsf"',
    'Content-Type: application/octet-stream; name="x.wsh"',
    'Content-Type: audio/wav; name="x.wav"',
    'Content-Type: video/quicktime; name="x.mov"',
    'Content-Type: image/wmf; name="x.wmf"',
    'Content-Type: application/vnd.ms-excel; name="x.xl"',
    'Content-Type: application/vnd.ms-excel; name="x.xls"',
    'Content-Type: application/zip; name="archive.zip"',
    'Content-Type: application/x-rar; name="archive.rar"',
    'Content-Type: application/x-rar; name = "spaced name.rar"  ',
    '  Content-Disposition: attachment; name="lead.exe"',
    'Content-Disposition: inline',
    'Content-Type: text/plain; charset=us-ascii',
    'Content-Type: text/plain; name="notes.txt"',
    'Content-Type: multipart/mixed; boundary="b.exe"',
    'X-Content-Type: foo; name="x.exe"',
    'Content-Description: x.exe',
    'Content-Disposition: attachment; filename=\\"quoted.vbe\\"',
    'Content-Disposition: attachment; filename=quoted.do',
    'Content-Disposition: attachment; filename=movie.rm',
    'Subject: test message',
    'Subject: hello',
    'Content-Type: application/octet-stream; name="two.exe.zip"',
    'Content-Type: application/octet-stream; name="x.exe "',
    '',
]

RULE_KEYS = [
    "user%other@example.org", "a!b@example.org", "postmaster@example.org",
    "POSTMASTER@EXAMPLE.ORG", "list-outgoing@lists.example",
    "owner-list-outgoing@lists.example", "ac", "abc", "AC", "abbc",
    "CaseSensitive", "casesensitive", "folded", "FOLDED", "ext+.example",
    "extab.example", "ext(a).example", "pctvalue", "pct", "bar|x", "barx",
    "sl/ash", "sl\\/ash", "space here", "spacehere", "localonly",
    "sales@example.com", "SALES-team@example.com", "info@example.com",
    "admin@example.com", "bob@example.com", "bob@example.org",
    "multi@line.test", "x@opt.test", "xy@opt.test", "xz@opt.test",
    "xyz@opt.test", "dollar@d.test", "m@m.test", "nobody@nowhere.test",
    "dotall\nx", "dotallxx", "nodot\nx", "nodotxx", "anchored", "xanch",
    "named@n.test", "lazyabc", "Ascii@h.test", "spaced@x.test",
    "spaced @x.test ",
    "a" * 40 + "b", "sec1", "secx", "dbly", "dblz",
]

BAD_KEYS = [
    "x@bad.test", "q@bad.test", "r@bad.test", "s@bad.test", "t@bad.test",
    "u@bad.test", "v@bad.test", "w@bad.test", "y@bad.test", "a(",
    "zz@bad.test", "zzz", "obsolete@bad.test", "never", "",
]

CIDR_KEYS = [
    "192.168.1.1", "192.168.1.2", "192.168.255.255", "10.0.0.1",
    "10.255.255.255", "11.0.0.1", "172.16.0.1", "172.31.255.255",
    "172.32.0.1", "100.64.0.1", "100.127.255.255", "100.128.0.1",
    "203.0.113.1", "203.0.113.127", "203.0.113.128", "203.0.113.255",
    "198.51.100.7", "8.8.8.8", "0.0.0.0", "255.255.255.255",
    "2001:db8::1", "2001:DB8:0:0::1", "2001:db8:ffff::", "2001:db9::1",
    "::ffff:198.51.100.7", "::ffff:c633:6407", "::FFFF:198.51.100.255",
    "::ffff:198.51.101.1", "::ffff:10.0.0.1", "fe80::1", "fe80::1:2:3:4",
    "febf::1", "fec0::1", "::1", "0:0:0:0:0:0:0:1", "::", "::2",
    "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8:9", "[192.168.1.1]",
    "[2001:db8::1]", "01.2.3.4", "1.2.3.04", "1.2.3", "1.2.3.4.5",
    "192.168.1.1 ", "abc", "", "2001:db8::1%eth0", "1.2.3.256",
    "9.9.9.9", "9.1.1.1", "::ffff:1.2.3.4",
]

REGEXP_CASES = (
    [("mime_header_checks.regexp", k) for k in MIME_KEYS]
    + [("seed004_verbatim.regexp", k) for k in
       ('Content-Type: x; name="a.exe"', "Subject: test", "Subject: x")]
    + [("rules.regexp", k) for k in RULE_KEYS]
    + [("bad.regexp", k) for k in BAD_KEYS]
)
PCRE_CASES = (
    [("mime_header_checks.regexp", k) for k in MIME_KEYS[:20]]
    + [("rules.pcre", k) for k in RULE_KEYS]
    + [("bad.pcre", k) for k in BAD_KEYS]
)
NORMALIZE_KEYS = [
    "2001:0db8::1", "2001:db8:0000::0001", "::ffff:1.2.3.4", "::ffff:1.2.3.255",
    "::1.2.3.4", "::0102:0304", "1.2.3.4", "::1", "0:0::1", "::ffff:9.9.9.9",
    "127.0.0.1", "200.1.1.1", "1.2.3.4/32", "1.2.3.4.", " 1.2.3.4",
    "2001:db8::1/128", "2001:db8:::1", "1::2::3", "1.2.3.4:25",
]

CIDR_CASES = ([("clients.cidr", k) for k in CIDR_KEYS]
              + [("normalize.cidr", k) for k in NORMALIZE_KEYS]
              + [("bad.cidr", k) for k in ("9.9.9.9", "9.1.1.1", "1.2.3.5",
                                           "1.2.3.4")])


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    """The table files, copied to a folder of their own."""
    d = tmp_path_factory.mktemp("tables")
    old = time.time() - 60
    for f in (DATA / "dict").iterdir():
        if f.suffix in (".regexp", ".pcre", ".cidr", ".txt"):
            shutil.copy(f, d / f.name)
            # Postfix reads a texthash file again (and repeats its
            # warnings) while the file is less than a second old.
            os.utime(d / f.name, (old, old))
    return d


def postfix_postmap(*args):
    """Run Debian's postmap with a clean environment."""
    env = {k: v for k, v in os.environ.items() if k != "MAIL_CONFIG"}
    return subprocess.run([str(POSTFIX_POSTMAP), *args], capture_output=True,
                          text=True, env=env, timeout=60)


def compare(*args):
    """ulak's postmap and Postfix's answer alike."""
    got = run("postmap", *args)
    want = postfix_postmap(*args)
    assert (got.rc, got.out, got.err) == (want.returncode, want.stdout,
                                          want.stderr), (
        f"postmap {args}: got rc={got.rc} out={got.out!r} err={got.err!r}, "
        f"want rc={want.returncode} out={want.stdout!r} "
        f"err={want.stderr!r}")


@pytest.mark.parametrize("table,key", REGEXP_CASES)
def test_regexp(tables, table, key):
    compare("-q", key, f"regexp:{tables / table}")


@pytest.mark.parametrize("table,key", PCRE_CASES)
def test_pcre(tables, table, key):
    name = table if table.endswith(".pcre") else table
    compare("-q", key, f"pcre:{tables / name}")


@pytest.mark.parametrize("table,key", CIDR_CASES)
def test_cidr(tables, table, key):
    compare("-q", key, f"cidr:{tables / table}")


def test_case_counts():
    """The acceptance bar: at least 50 lookups per pattern type."""
    assert len(REGEXP_CASES) >= 50
    assert len(PCRE_CASES) >= 50
    assert len(CIDR_CASES) >= 50


INLINE_CASES = [
    ("a", "inline:{a=b, { c = d e }, f=g}"),
    ("c", "inline:{a=b, { c = d e }, f=g}"),
    ("F", "inline:{a=b, { c = d e }, f=g}"),
    ("z", "inline:{a=b, { c = d e }, f=g}"),
    ("a", "inline:{a=b; c=d}"),
    ("a", "inline:{a={b}}"),
    ("a", "inline:{a=1,a=2}"),
    ("Ab", "inline:{Ab=x}"),
    ("a", "inline:{a==b}"),
    ("a", "inline:{a}"),
    ("a", "inline:{}"),
    ("a", "inline:a=b"),
    ("a", "inline:{a=b"),
    ("a", "inline:{ {a} }"),
    ("a", "inline:{a=}"),
    ("x", "static:value"),
    ("x", "static:{ text with  spaces }"),
    ("x", "static:{}"),
    ("x", "static:{a"),
    ("x", "fail:x"),
    ("root", "unix:passwd.byname"),
    ("ROOT", "unix:passwd.byname"),
    ("no-such-user-here", "unix:passwd.byname"),
    ("root", "unix:group.byname"),
    ("x", "unix:foo"),
    ("x", "unionmap:{inline:{x=1},inline:{x=2, y=3},static:4}"),
    ("y", "unionmap:{inline:{x=1},inline:{y=2}}"),
    ("z", "unionmap:{inline:{x=1},inline:{y=2}}"),
    ("x", "unionmap:{}"),
    ("x", "unionmap:inline:{x=1}"),
    ("x", "unionmap:{nosuch:x}"),
    ("x", "unionmap:{inline:{x=1},fail:x}"),
    ("x", "unionmap:{unionmap:{static:a,static:b},static:c}"),
    ("x", "pipemap:{inline:{x=1},inline:{1=2},static:4}"),
    ("x", "pipemap:{inline:{x=1},inline:{2=2},static:4}"),
    ("X", "pipemap:{inline:{x=Y}, inline:{y=ok}}"),
    ("x", "pipemap:{inline:{x=1},fail:x}"),
    ("x", "randmap:{only}"),
    ("x", "randmap:{ {a b} }"),
    ("x", "randmap:{}"),
    ("x", "db:/nonexistent"),
    ("x", "environ"),
    ("y", "regexp:{ {/x/ r1}, {/y/ r2 two} }"),
    ("y", "regexp:{ {/x/ r1}, {/y/q r2} }"),
    ("y", "regexp:{ /x/ r1 }"),
    ("y", "regexp:{"),
    ("y", "pcre:{ {/x/ r1}, {/(y)/ r2 $1} }"),
    ("y", "regexp:{ {if /y/}, {/./ in}, {endif} }"),
    ("1.2.3.4", "cidr:{ {1.2.3.0/24 net}, {0.0.0.0/0 all} }"),
    ("x", "regexp:/nonexistent/file"),
    ("x", "internal:foo"),
    ("a", "unionmap:{inline:{a=b}, x}"),
    ("a", "unionmap:{y, nosuch:x}"),
    ("a", "static:{=y\t,{ c = d e }},{ c = d e }, }"),
    ("a", "unionmap:{inline:{a=b}\tstatic:x}"),
    ("a", "inline:{ }"),
    ("a", "inline:{ {} }"),
    ("a", "inline:{{a=b}x}"),
    ("a", "inline:{a=b} "),
    ("a", "inline: {a=b}"),
    ("", "inline:{=b}"),
    ("a", "pipemap:"),
    ("a", "randmap:"),
    ("a", "static: ,x,k=, "),
    ("a", "inline:{ ,, }"),
]


@pytest.mark.parametrize("key,table", INLINE_CASES)
def test_memory_types(key, table):
    compare("-q", key, table)


@pytest.mark.parametrize("key", ["alice@example.com", "bob@example.com",
                                 "BOB@EXAMPLE.COM", "example.net", "multi",
                                 "lonely", "nothere"])
def test_texthash(tables, key):
    compare("-q", key, f"texthash:{tables / 'texthash.txt'}")


@pytest.mark.parametrize("key", ["bob@example.com", "Bob@Example.COM"])
def test_texthash_fixed_case(tables, key):
    compare("-fq", key, f"texthash:{tables / 'texthash.txt'}")


@pytest.mark.parametrize("kind", ["regexp", "pcre", "cidr", "texthash"])
def test_unreadable_table(tables, kind):
    """A table that opens but cannot be read (a directory): regexp and pcre
    end the rules silently, cidr and texthash stop with Postfix's error."""
    d = tables / "adir"
    d.mkdir(exist_ok=True)
    compare("-q", "x", f"{kind}:{d}")


@pytest.mark.parametrize("kind", ["regexp", "pcre", "cidr", "texthash"])
def test_missing_table(tables, kind):
    compare("-q", "x", f"{kind}:{tables / 'missing'}")
