"""postconf: ulak's output against Debian's Postfix 3.7 postconf.

Every test runs ulak's postconf and /usr/sbin/postconf on the same scratch
configuration directories and compares what they print.  Postfix's postconf
repeats some warnings (it reads main.cf several times), so standard error is
compared as a set of lines.  The deliberate differences of `postconf -d`
(installation paths, ulak's name and version, host-dependent values) are
listed in tests/data/conf/postconf-d-differences.txt.
"""
import os
import shutil
import subprocess

import pytest

from conftest import DATA, run

POSTFIX = "/usr/sbin/postconf"
CONF = DATA / "conf"

pytestmark = pytest.mark.skipif(not os.path.exists(POSTFIX),
                                reason="Postfix's postconf is not installed")


class Out:
    def __init__(self, rc, out, err):
        self.rc, self.out, self.err = rc, out, err

    def __repr__(self):
        return f"rc={self.rc}\nstdout:\n{self.out}\nstderr:\n{self.err}"


def postfix(*args, env=None):
    """Run Debian's postconf."""
    e = dict(os.environ)
    e.pop("MAIL_CONFIG", None)
    if env:
        e.update(env)
    # argv[0] "postconf", as from $PATH: it prefixes every message.
    p = subprocess.run(["postconf", *map(str, args)], executable=POSTFIX,
                       capture_output=True, text=True, env=e, timeout=60)
    return Out(p.returncode, p.stdout, p.stderr)


def postfix_all(arglists):
    """Run Debian's postconf once per argument list, all at once: its fatal
    errors sleep a second before they exit."""
    e = dict(os.environ)
    e.pop("MAIL_CONFIG", None)
    procs = [subprocess.Popen(["postconf", *map(str, a)], executable=POSTFIX,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, env=e) for a in arglists]
    outs = []
    for proc in procs:
        out, err = proc.communicate(timeout=60)
        outs.append(Out(proc.returncode, out, err))
    return outs


def ulak(*args, env=None):
    """Run ulak's postconf."""
    r = run("postconf", *args, env=env)
    return Out(r.rc, r.out, r.err)


def errset(text):
    return sorted(set(text.splitlines()))


def same_warnings(u_err, p_err):
    """The same warnings, except that Postfix reads main.cf a second time
    in some runs (not all), which repeats "overriding earlier entry" with
    other line numbers: ulak reports each once, in file order, and those
    lines must be among Postfix's."""
    def split(err):
        over = {x for x in errset(err) if "overriding earlier entry" in x}
        return [x for x in errset(err) if x not in over], over
    u_rest, u_over = split(u_err)
    p_rest, p_over = split(p_err)
    return u_rest == p_rest and u_over <= p_over


def difference_lines():
    """(name, kind) of the listed differences."""
    for line in (CONF / "postconf-d-differences.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, kind = line.split("\t")[:2]
            yield name, kind


def differences():
    """The names whose -d values differ on purpose."""
    return {n for n, kind in difference_lines() if kind != "extension"}


def extensions():
    """ulak's own parameters, which Postfix does not have."""
    return {n for n, kind in difference_lines() if kind == "extension"}


def as_map(text):
    """name -> value of "name = value" lines (without -f), without ulak's
    extensions (test_d_extensions checks those)."""
    m = {}
    skip = extensions()
    for line in text.splitlines():
        name, _, value = line.partition(" =")
        if name not in skip:
            m[name] = value[1:] if value.startswith(" ") else value
    return m


def test_d_extensions(tmp_path):
    """ulak's extensions: listed by -d (empty defaults), unknown to
    Postfix."""
    d = confdir_with(tmp_path, "")
    for name in extensions():
        u, p = ulak("-c", d, "-d", name), postfix("-c", d, "-d", name)
        assert u.rc == 0 and u.out == f"{name} =\n"
        assert "unknown parameter" in p.err
        assert f"{name} =\n" in ulak("-c", d, "-d").out.splitlines(True)


def confdir_with(tmp_path, main, master="", name="etc"):
    d = tmp_path / name
    d.mkdir()
    (d / "main.cf").write_text(main)
    if master is not None:
        (d / "master.cf").write_text(master)
    return d


def fixture_dir(tmp_path, fixture):
    master = CONF / f"{fixture}.master.cf"
    if not master.exists():
        master = CONF / "debian.master.cf"
    return confdir_with(tmp_path, (CONF / f"{fixture}.main.cf").read_text(),
                        master.read_text())


FIXTURES = ["seed000", "seed001", "seed002", "seed003", "seed004", "edge"]


@pytest.mark.parametrize("fixture", FIXTURES)
def test_n_matches_postfix(tmp_path, fixture):
    d = fixture_dir(tmp_path, fixture)
    u, p = ulak("-c", d, "-n"), postfix("-c", d, "-n")
    assert u.out == p.out
    assert u.rc == p.rc == (1 if fixture == "seed000" else 0)
    assert same_warnings(u.err, p.err)


@pytest.mark.parametrize("args", [["-n"], ["-d", "mail_owner"],
                                  ["myhostname"], ["-h", "myhostname"],
                                  ["-e", "myorigin=x"], ["-l"]])
def test_bad_master_cf_stops_parameter_modes(tmp_path, args):
    """Postfix's postconf reads master.cf for the parameter modes and dies
    on a malformed one; ulak names the file and line as well."""
    d = confdir_with(tmp_path, "myhostname = a.example\n",
                     "smtp inet n - n - - smtpd\nfoo inet n - x - - smtpd\n")
    u, p = ulak("-c", d, *args), postfix("-c", d, *args)
    assert (u.rc, u.out) == (p.rc, p.out)
    if p.rc:
        assert u.err == (f"postconf: fatal: file {d}/master.cf: line 2: "
                         'invalid chroot field "x" in "foo inet n - x - - '
                         'smtpd"\n'), u
        assert p.err.endswith('invalid chroot field "x" in "foo inet n - x '
                              '- - smtpd"\n'), p


@pytest.mark.parametrize("fixture", FIXTURES)
@pytest.mark.parametrize("flag", ["-M", "-P"])
def test_master_modes_match_postfix(tmp_path, fixture, flag):
    d = fixture_dir(tmp_path, fixture)
    u, p = ulak("-c", d, flag), postfix("-c", d, flag)
    assert (u.rc, u.out) == (p.rc, p.out)
    assert same_warnings(u.err, p.err)


@pytest.mark.parametrize("fixture", FIXTURES)
def test_n_fold_matches_postfix(tmp_path, fixture):
    d = fixture_dir(tmp_path, fixture)
    assert ulak("-c", d, "-nf").out == postfix("-c", d, "-nf").out


@pytest.mark.parametrize("fixture", FIXTURES)
def test_nx_matches_postfix(tmp_path, fixture):
    # Values that expand ulak's own name, version or paths differ on
    # purpose; every other expanded value must be the same.
    d = fixture_dir(tmp_path, fixture)
    u, p = ulak("-c", d, "-nx"), postfix("-c", d, "-nx")
    um, pm = as_map(u.out), as_map(p.out)
    assert sorted(um) == sorted(pm)
    for name in ("smtpd_banner", "debugger_command"):
        um.pop(name, None)
        pm.pop(name, None)
    assert um == pm
    assert same_warnings(u.err, p.err)


def test_n_lines(tmp_path):
    """Continuation lines, comments inside values, duplicates, $name."""
    d = confdir_with(tmp_path,
                     "myhostname   =   mx.example.com   \n"
                     "mydestination = a,\n"
                     "  # comment inside\n"
                     "\n"
                     "   b,\n"
                     "\tc\n"
                     "relayhost = first\n"
                     "relayhost=second\n"
                     "myorigin =\n"
                     "  leading\n"
                     "smtpd_banner = $myhostname  ESMTP\n")
    u = ulak("-c", d, "-n")
    assert u.out == (f"config_directory = {d}\n"
                     "mydestination = a, b, c\n"
                     "myhostname = mx.example.com\n"
                     "myorigin = leading\n"
                     "relayhost = second\n"
                     "smtpd_banner = $myhostname ESMTP\n")
    assert u.out == postfix("-c", d, "-n").out
    assert same_warnings(u.err, postfix("-c", d, "-n").err)
    assert (f"postconf: warning: {d}/main.cf, line 8: overriding earlier "
            "entry: relayhost=first") in u.err.splitlines()


def test_d_all_names_and_values(tmp_path):
    """`postconf -d`: the same names (static and per-service ones from
    master.cf) and the same default text outside the listed differences."""
    d = confdir_with(tmp_path, "", (CONF / "debian.master.cf").read_text())
    u, p = ulak("-c", d, "-d"), postfix("-c", d, "-d")
    assert u.rc == p.rc == 0
    um, pm = as_map(u.out), as_map(p.out)
    assert len(pm) > 1000
    assert sorted(um) == sorted(pm)
    skip = differences()
    assert skip <= set(pm)
    bad = {n: (um[n], pm[n]) for n in pm if n not in skip and um[n] != pm[n]}
    assert bad == {}
    assert um["mail_name"] == "ulak"
    assert um["syslog_name"] == \
        "${multi_instance_name?{$multi_instance_name}:{ulak}}"


def test_d_service_parameters(tmp_path):
    """Per-service parameters: a delivery agent's scheduler parameters,
    pipe's and spawn's time limit, nothing for other commands; in -d and as
    used names in main.cf."""
    master = ("smtp-amavis unix - - n - 2 smtp\n"
              "spf unix - n n - - spawn user=x argv=/bin/y\n"
              "foo unix - n n - - qmgr\n"
              "maildrop unix - n n - - pipe flags=DRhu user=v argv=/bin/m\n"
              "retry unix - - n - - error\n")
    main = "".join(f"{s}_{p} = 1\n" for s in ("smtp-amavis", "spf", "foo",
                                              "maildrop", "retry")
                   for p in ("time_limit", "recipient_limit"))
    d = confdir_with(tmp_path, main, master)
    for flags in ("-d", "-n"):
        u, p = ulak("-c", d, flags), postfix("-c", d, flags)
        um, pm = as_map(u.out), as_map(p.out)
        assert sorted(um) == sorted(pm), flags
        assert same_warnings(u.err, p.err), flags


def test_d_every_name_as_argument(tmp_path):
    """`postconf -d NAME...` with every name, in an order that is not
    sorted: the same lines, in argument order."""
    d = confdir_with(tmp_path, "")
    names = sorted(as_map(postfix("-c", d, "-d").out), reverse=True)
    skip = differences()
    names = [n for n in names if n not in skip]
    u, p = ulak("-c", d, "-d", *names), postfix("-c", d, "-d", *names)
    assert u.out == p.out
    assert u.out.splitlines()[0].startswith(names[0] + " =")


def test_dx_every_expanded_default(tmp_path):
    """`postconf -dx`: every default expands to what Postfix expands it to,
    except the listed differences and what refers to them."""
    d = confdir_with(tmp_path, "", (CONF / "debian.master.cf").read_text())
    u, p = ulak("-c", d, "-dx"), postfix("-c", d, "-dx")
    um, pm = as_map(u.out), as_map(p.out)
    raw = as_map(postfix("-c", d, "-d").out)
    skip = differences()
    grown = True
    while grown:
        grown = False
        for name, text in raw.items():
            if name not in skip and any(
                    f"${r}" in text or f"${{{r}" in text or f"$({r}" in text
                    for r in skip):
                skip.add(name)
                grown = True
    assert sorted(um) == sorted(pm)
    bad = {n: (um[n], pm[n]) for n in pm if n not in skip and um[n] != pm[n]}
    assert bad == {}
    assert len(skip) < 30


def test_d_fold(tmp_path):
    d = confdir_with(tmp_path, "")
    skip = differences()
    names = [n for n in as_map(postfix("-c", d, "-d").out) if n not in skip]
    assert ulak("-c", d, "-df", *names).out == \
        postfix("-c", d, "-df", *names).out


def test_d_expand(tmp_path):
    """-dx expands defaults only (main.cf plays no part)."""
    d = confdir_with(tmp_path, "myhostname = other.example\n"
                     "compatibility_level = 3.6\n")
    names = ["mydestination", "smtpd_relay_restrictions", "relay_domains",
             "mynetworks_style", "append_dot_mydomain", "myorigin",
             "smtp_tls_session_cache_database", "default_rbl_reply",
             "postscreen_expansion_filter", "address_verify_map"]
    u, p = ulak("-c", d, "-dx", *names), postfix("-c", d, "-dx", *names)
    assert u.out == p.out


def test_h_and_x(tmp_path):
    d = confdir_with(tmp_path, "myhostname = mx.example.com\n"
                     "mydomain = example.com\n"
                     "relayhost = [$mydomain]:587\n"
                     "myorigin = $mydomain\n"
                     "empty_ref = $relayhost\n"
                     "smtpd_relay_restrictions = ${{$compatibility_level} "
                     "<level {1} ? {} : {permit}}\n"
                     "alias_maps = hash:$config_directory/aliases\n")
    names = ["relayhost", "myorigin", "mydestination", "alias_maps",
             "smtpd_relay_restrictions", "empty_ref", "myorigin"]
    for flags in ("-h", "-x", "-hx", "-hxf"):
        u, p = ulak("-c", d, flags, *names), postfix("-c", d, flags, *names)
        assert u.out == p.out, flags
        assert same_warnings(u.err, p.err), flags
    assert ulak("-c", d, "-hx", "relayhost").out == "[example.com]:587\n"


def test_empty_value_prints_bare_equals(tmp_path):
    d = confdir_with(tmp_path, "myorigin =\n")
    u = ulak("-c", d, "myorigin", "relayhost")
    assert u.out == "myorigin =\nrelayhost =\n"
    assert u.out == postfix("-c", d, "myorigin", "relayhost").out
    assert ulak("-c", d, "-h", "myorigin").out == "\n"


def test_unknown_parameter(tmp_path):
    d = confdir_with(tmp_path, "foo = bar\n")
    u, p = ulak("-c", d, "nosuch", "mail_version", "foo"), \
        postfix("-c", d, "nosuch", "mail_version", "foo")
    assert u.rc == p.rc == 0
    assert "postconf: warning: nosuch: unknown parameter" in u.err
    assert "postconf: warning: foo: unknown parameter" in u.err
    assert same_warnings(u.err, p.err)
    assert u.out == "mail_version = 0.1.0\n"


def test_unused_and_undefined_warnings(tmp_path):
    d = confdir_with(tmp_path,
                     "foo = bar\n"
                     "relayhost = $undefined_x ${nothing?{a}:{b}}\n"
                     "mailbox_command = procmail -a \"$EXTENSION\"\n"
                     "process_name = $mail_name\n"
                     "whatever_time_limit = 3\n"
                     "alias_maps = hash:/etc/aliases, ldap:src, pgsql:pg\n"
                     "src_server_host = x\n"
                     "src_bogus = 1\n"
                     "pg_query = q\n"
                     "smtpd_restriction_classes = cls\n"
                     "cls = permit\n"
                     "smtp-amavis_destination_concurrency_limit = 2\n"
                     "spf_time_limit = 3\n"
                     "zz = $from_master\n"
                     "from_master = referenced from master.cf\n",
                     "smtp-amavis unix - - n - 2 smtp\n"
                     "spf unix - n n - - spawn user=x argv=/bin/y\n"
                     "  -o zz_param=$from_master\n")
    u, p = ulak("-c", d, "-n"), postfix("-c", d, "-n")
    assert u.out == p.out
    assert same_warnings(u.err, p.err)
    path = f"{d}/main.cf"
    assert errset(u.err) == sorted([
        f"postconf: warning: {path}: undefined parameter: nothing",
        f"postconf: warning: {path}: undefined parameter: undefined_x",
        f"postconf: warning: {path}: unused parameter: foo=bar",
        f"postconf: warning: {path}: unused parameter: src_bogus=1",
        f"postconf: warning: {path}: unused parameter: zz=$from_master",
        f"postconf: warning: {path}: unused parameter: "
        "whatever_time_limit=3",
        f"postconf: warning: {path}: read-only parameter assignment: "
        "process_name=$mail_name",
    ])


def test_master_cf_missing(tmp_path):
    d = confdir_with(tmp_path, "relayhost = x\n", master=None)
    u, p = ulak("-c", d, "-n"), postfix("-c", d, "-n")
    assert u.out == p.out
    assert errset(u.err) == errset(p.err) == [
        f"postconf: warning: open {d}/master.cf: No such file or directory"]


def test_main_cf_missing_and_syntax_errors(tmp_path):
    d = tmp_path / "nonexist"
    arglists = [["-c", d, "-n"]]
    for i, text in enumerate(("badline\n", "= value\n", "x y = 1\n")):
        c = confdir_with(tmp_path, "relayhost = x\n" + text, name=f"e{i}")
        arglists.append(["-c", c, "-n"])
    for args, p in zip(arglists, postfix_all(arglists)):
        u = ulak(*args)
        assert (u.rc, u.out) == (p.rc, p.out) == (1, "")
        assert same_warnings(u.err, p.err)


def test_macro_errors_with_x(tmp_path):
    values = ("$a_loop", "a$", "${foo", "${nosuchx:{a}:{b}}",
              "${mail_name?{a}junk}", "${{}==0?{a}:{b}}", "${$$=x}",
              "3.6${x)}", "x${}y", "{}{${ }a}x}", "${==!= {1}<}b")
    arglists = []
    for i, value in enumerate(values):
        d = tmp_path / f"d{i}"
        d.mkdir()
        (d / "main.cf").write_text(f"a_loop = $b_loop\nb_loop = $a_loop\n"
                                   f"relayhost = {value}\n")
        (d / "master.cf").write_text("")
        arglists.append(["-c", d, "-x", "relayhost"])
    for value, args, p in zip(values, arglists, postfix_all(arglists)):
        u = ulak(*args)
        assert (u.rc, u.out) == (p.rc, p.out), value
        assert same_warnings(u.err, p.err), value


@pytest.mark.parametrize("value", [
    "a:{b", "a:{b}c", "(,{3", "({3", "{{{{>)myhostname", "{a $$b}c",
    "{a} {b", "{{a}}b", "${mail_name?{x}}y {z}w", "{ {a}b }", "x:{ {a}b }",
    "{ a:{b }", "a, {b {c} d}e", "x,{a}}b", "> }<level}?==:{",
    "{1}{<level,<level$$=={1}x", "inline:{ a=b, c=d }, pcre:{{/x/ OK}}",
])
def test_brace_group_warnings(tmp_path, value):
    """Postfix checks the "{ }" groups of every expanded value."""
    d = confdir_with(tmp_path, f"relayhost = {value}\n")
    u, p = ulak("-c", d, "-n"), postfix("-c", d, "-n")
    assert (u.rc, u.out) == (p.rc, p.out)
    assert same_warnings(u.err, p.err)


def test_brace_group_warnings_master_cf(tmp_path):
    d = confdir_with(tmp_path, "relayhost = x\n",
                     "smtp unix - - n - - smtp\n"
                     " -o smtp_helo_name={1}=x -o smtp_bind_address=a:{b}c\n"
                     "relay unix - - n - - smtp\n"
                     " -o { smtp_helo_name = {a} {b}c }\n")
    u, p = ulak("-c", d, "-n"), postfix("-c", d, "-n")
    assert (u.rc, u.out) == (p.rc, p.out)
    assert same_warnings(u.err, p.err)
    assert "master.cf:smtp/unix: syntax error after '}' in \"{1}=x\"" in u.err


def test_mail_config_and_dash_c(tmp_path):
    d = confdir_with(tmp_path, "relayhost = x\n")
    u = ulak("-n", env={"MAIL_CONFIG": str(d)})
    assert u.out == postfix("-n", env={"MAIL_CONFIG": str(d)}).out
    assert u.out == f"config_directory = {d}\nrelayhost = x\n"
    (d / "main.cf").write_text("config_directory = /elsewhere\n")
    u, p = ulak("-c", d, "-n"), postfix("-c", d, "-n")
    assert u.out == p.out == "config_directory = /elsewhere\n"
    assert same_warnings(u.err, p.err)


def test_override_option(tmp_path):
    d = confdir_with(tmp_path, "relayhost = x\n")
    args = ["-c", d, "-o", "relayhost=[o]", "-o", "myorigin=$relayhost",
            "-x", "relayhost", "myorigin"]
    assert ulak(*args).out == postfix(*args).out == \
        "relayhost = [o]\nmyorigin = [o]\n"


ORIG = ("# head comment\n"
        "myhostname = old.example\n"
        "    # inside\n"
        "  cont\n"
        "relayhost = [x]\n"
        "\n"
        "# tail\n"
        "mydomain=foo\n"
        "mydomain = bar\n"
        "last = x")


@pytest.mark.parametrize("args", [
    ["-e", "myhostname=new.example", "relayhost = [y]:25",
     "newparam=  a   b  ", "mydomain=z"],
    ["-e", "last=y"],
    ["-e", "new=1"],
    ["-X", "myhostname", "mydomain", "nosuch"],
    ["-X", "last"],
    ["-#", "myhostname", "mydomain", "nosuch", "last"],
])
def test_edit_keeps_layout(tmp_path, args):
    """-e, -X and -# give the same main.cf, byte for byte, as Postfix."""
    a = confdir_with(tmp_path, ORIG, name="a")
    b = confdir_with(tmp_path, ORIG, name="b")
    u, p = ulak("-c", a, *args), postfix("-c", b, *args)
    assert u.rc == p.rc == 0
    assert (a / "main.cf").read_bytes() == (b / "main.cf").read_bytes()
    assert same_warnings(u.err.replace(str(a), "D"),
                         p.err.replace(str(b), "D"))


def test_name_value_argument_edits(tmp_path):
    """`postconf name=value` without -e edits main.cf too."""
    a = confdir_with(tmp_path, "relayhost = x\n", name="a")
    b = confdir_with(tmp_path, "relayhost = x\n", name="b")
    u, p = ulak("-c", a, "relayhost=z"), postfix("-c", b, "relayhost=z")
    assert (u.rc, u.out, u.err) == (p.rc, p.out, p.err) == (0, "", "")
    assert (a / "main.cf").read_text() == (b / "main.cf").read_text() == \
        "relayhost = z\n"


def test_edit_result(tmp_path):
    d = confdir_with(tmp_path, ORIG + "\n")
    assert ulak("-c", d, "-e", "relayhost = [y]:25", "new = 1").rc == 0
    assert (d / "main.cf").read_text() == ORIG.replace(
        "relayhost = [x]", "relayhost = [y]:25") + "\nnew = 1\n"


def test_edit_errors(tmp_path):
    d = confdir_with(tmp_path, "a = b\n")
    cases = (["-e"], ["-e", "noequals"], ["-X"], ["-#"], ["-e", " =v"],
             ["-X", "a=5"], ["-e", "  x y  "])
    e = tmp_path / "empty"
    e.mkdir()
    arglists = [["-c", d, *args] for args in cases] + [["-c", e, "-e", "a=b"]]
    for args, p in zip(arglists, postfix_all(arglists)):
        u = ulak(*args)
        assert (u.rc, u.out, u.err) == (p.rc, p.out, p.err), args
    # A repeated name: the last one wins, with Postfix's warning.
    u, p = ulak("-c", d, "-e", "a=1", "a=2"), postfix("-c", d, "-e", "a=1",
                                                      "a=2")
    assert (u.rc, u.out, u.err) == (p.rc, p.out, p.err)
    assert (d / "main.cf").read_text() == "a = 2\n"


@pytest.mark.parametrize("level", ["0", "1", "2", "3.6", "3.7"])
def test_compatibility_level(tmp_path, level):
    d = confdir_with(tmp_path, f"compatibility_level = {level}\n"
                     "myhostname = mx.example.com\n")
    names = ["smtpd_relay_restrictions", "relay_domains", "mynetworks_style",
             "append_dot_mydomain", "smtputf8_enable", "chroot",
             "smtpd_tls_fingerprint_digest", "smtp_tls_CApath",
             "lmtp_tls_mandatory_protocols", "mynetworks"]
    for flags in ("", "-x"):
        args = ["-c", d] + ([flags] if flags else []) + names
        assert ulak(*args).out == postfix(*args).out, flags
    r = ulak("-c", d, "-hx", "smtpd_relay_restrictions").out
    assert r == ("\n" if level == "0" else
                 "permit_mynetworks, permit_sasl_authenticated, "
                 "defer_unauth_destination\n")


@pytest.mark.parametrize("setting", [
    "", "mynetworks_style = host", "mynetworks_style = class",
    "mynetworks_style = subnet", "inet_protocols = ipv4",
    "inet_protocols = ipv6", "inet_interfaces = loopback-only",
    "inet_interfaces = localhost", "compatibility_level = 2",
])
def test_mynetworks_from_interfaces(tmp_path, setting):
    """The host-dependent mynetworks default, computed as Postfix does."""
    d = confdir_with(tmp_path, setting + "\n")
    args = ["-c", d, "-h", "mynetworks", "myhostname", "mydomain"]
    assert ulak(*args).out == postfix(*args).out


def test_malformed_compatibility_level(tmp_path):
    arglists = []
    for i, level in enumerate(("abc", "", "3.6x", "10", "2.0")):
        d = confdir_with(tmp_path, f"compatibility_level = {level}\n",
                         name=f"l{i}")
        arglists.append(["-c", d, "-xh", "smtpd_relay_restrictions",
                         "append_dot_mydomain"])
    for args, p in zip(arglists, postfix_all(arglists)):
        u = ulak(*args)
        assert (u.rc, u.out, u.err) == (p.rc, p.out, p.err), args


def test_list_modes(tmp_path):
    assert ulak("-l").out == postfix("-l").out == "flock\nfcntl\ndotlock\n"
    # ulak lists only what works: no SASL plug-in yet.
    for flag in ("-a", "-A"):
        u = ulak(flag)
        assert (u.rc, u.out) == (0, "")
    m = ulak("-m").out.splitlines()
    assert m == sorted(m)
    assert {"hash", "btree", "regexp", "texthash"} <= set(m)
    assert set(m) <= set(postfix("-m").out.splitlines())


def test_options_end_at_first_name(tmp_path):
    """Like Postfix's getopt: "-h" after a name is a name."""
    d = confdir_with(tmp_path, "")
    u, p = ulak("-c", d, "-d", "myorigin", "-h"), \
        postfix("-c", d, "-d", "myorigin", "-h")
    assert (u.rc, u.out, u.err) == (p.rc, p.out, p.err)
    assert u.out == "myorigin = $myhostname\n"


def test_d_and_n_conflict(tmp_path):
    d = confdir_with(tmp_path, "")
    u, p = ulak("-c", d, "-d", "-n"), postfix("-c", d, "-d", "-n")
    assert (u.rc, u.out, u.err) == (p.rc, p.out, p.err)


@pytest.mark.parametrize("flag", ["-M", "-F", "-P"])
def test_master_modes_load_main_cf(tmp_path, flag):
    """-M/-F/-P (postconf_master.c) run after main.cf is read: a missing
    main.cf is fatal, and master.cf -o settings get Postfix's warnings."""
    d = confdir_with(tmp_path, "relayhost = x\nfoo = 1\n",
                     "smtp unix - - n - - smtp\n"
                     " -o smtp_helo_name=$u2 -o zzz=1\n")
    u, p = ulak("-c", d, flag), postfix("-c", d, flag)
    assert (u.rc, u.out) == (p.rc, p.out)
    assert same_warnings(u.err, p.err)
    (d / "main.cf").unlink()
    u, p = ulak("-c", d, flag), postfix("-c", d, flag)
    assert (u.rc, u.out, u.err) == (p.rc, p.out, p.err)


def test_log_text_made_printable(tmp_path):
    """Control bytes, a newline and non-ASCII bytes in a logged name become
    '?' as in Postfix's output: a name cannot forge a log line."""
    d = confdir_with(tmp_path, "myhostname = a.example\n",
                     "smtp inet n - n - - smtpd\n")
    name = "fo\x01o\tx\u00e9\nJan  1 00:00:00 forged"
    u, p = ulak("-c", d, name), postfix("-c", d, name)
    assert (u.rc, u.out) == (p.rc, p.out)
    assert u.err == ("postconf: warning: fo?o?x???Jan  1 00:00:00 forged: "
                     "unknown parameter\n"), u
    assert u.err == p.err.replace("/usr/sbin/postconf", "postconf"), p
