#!/usr/bin/env python3
"""gen_params - generate src/global/params.def from Postfix 3.7's behaviour.

Run once on a machine with Debian's postfix 3.7 installed:

    scripts/gen_params.py > src/global/params.def.new &&
        mv src/global/params.def.new src/global/params.def

When ulak starts acting on a parameter, change its flags in params.def by
hand from 0 to ACTED; a regeneration keeps the ACTED flags it finds there.
An ulak extension (a parameter Postfix does not have, e.g. ulak_dns_servers)
is added to params.def by hand with the flag ULAK; a regeneration keeps
those lines as they are, in name order.

The parameter names and default texts come from `postconf -d` run on an
empty configuration directory (behaviour, not source); the types come from
the default text and from the postconf(5) manual page (time units, "non-zero"
bounds); OVERRIDES fixes what that inference gets wrong, and the host,
installation-path and deliberate differences are listed in
tests/data/conf/postconf-d-differences.txt.  The output is committed; ulak
never runs this at build time.
"""
import gzip
import re
import subprocess
import sys
import tempfile

# Parameters that ulak acts on already (the foundation: configuration,
# logging, lookup tables).  Everything else is "accepted, not acted on yet".
ACTED = """
config_directory queue_directory data_directory compatibility_level
myhostname mydomain myorigin mydestination mynetworks mynetworks_style
inet_interfaces inet_protocols default_database_type default_cache_db_type
alias_database alias_maps recipient_delimiter
parent_domain_matches_subdomains syslog_name syslog_facility maillog_file
maillog_file_prefixes maillog_file_compressor maillog_file_rotate_suffix
mail_name mail_version mail_release_date multi_instance_name
multi_instance_enable process_name process_id
command_directory daemon_directory meta_directory shlib_directory
sample_directory readme_directory html_directory manpage_directory
sendmail_path newaliases_path mailq_path mail_owner setgid_group
import_environment export_environment mail_spool_directory
""".split()

# Defaults computed at run time, as Postfix computes them (host-dependent).
DYNAMIC = """
myhostname mydomain mynetworks process_id process_name mail_version
config_directory service_name
""".split()

# Read-only parameters: postconf warns "read-only parameter assignment" and
# keeps the computed value.
READ_ONLY = "process_id process_name service_name".split()

# Debian installation paths replaced by stock Postfix's values, and ulak's
# own identity.  Every entry is listed, with its reason, in
# tests/data/conf/postconf-d-differences.txt.
DEFAULT_OVERRIDES = {
    "daemon_directory": "/usr/libexec/postfix",
    "html_directory": "no",
    "readme_directory": "no",
    "manpage_directory": "/usr/local/man",
    "shlib_directory": "no",
    "syslog_name": "${multi_instance_name?{$multi_instance_name}:{ulak}}",
    "mail_name": "ulak",
    # Placeholders: the real values are computed at run time (DYNAMIC).
    "myhostname": "",
    "mydomain": "",
    "mynetworks": "",
    "process_id": "",
    "process_name": "",
    "mail_version": "",
    "config_directory": "/etc/postfix",
}

# Types that the inference below gets wrong: name -> (type, unit).
TYPE_OVERRIDES = {
    "mynetworks_style": ("STR", None),
    "compatibility_level": ("STR", None),
    "mail_version": ("STR", None),
    "mail_release_date": ("STR", None),
    "process_id": ("STR", None),
    "access_map_defer_code": ("INT", None),
    "access_map_reject_code": ("INT", None),
    "inet_protocols": ("LIST", None),
    "inet_interfaces": ("LIST", None),
    "mynetworks": ("LIST", None),
    "mydestination": ("LIST", None),
    "hopcount_limit": ("INT", None),
    "smtp_min_data_rate": ("INT", None),
    "smtpd_min_data_rate": ("INT", None),
    "lmtp_min_data_rate": ("INT", None),
    "import_environment": ("LIST", None),
    "export_environment": ("LIST", None),
    # "number", "number/number" or "number/concurrency"
    "default_destination_concurrency_positive_feedback": ("STR", None),
    "default_destination_concurrency_negative_feedback": ("STR", None),
}

LIST_SUFFIXES = ("_maps", "_restrictions", "_domains", "_networks",
                 "_classes", "_checks", "_names", "_lookups", "_interfaces",
                 "_protocols", "_environment", "_filters", "_mechanism_filter",
                 "_ciphers", "_exclude_ciphers", "_prefixes")


def postconf_defaults():
    """The name -> default text map of `postconf -d` on an empty config."""
    with tempfile.TemporaryDirectory() as d:
        open(d + "/main.cf", "w").close()
        open(d + "/master.cf", "w").close()
        out = subprocess.run(["postconf", "-c", d, "-d"], check=True,
                             capture_output=True, text=True).stdout
    params = {}
    for line in out.splitlines():
        name, _, value = line.partition(" =")
        params[name] = value[1:] if value.startswith(" ") else value
    return params


def raw_parameters(names):
    """Parameters that Postfix never expands at configuration time (their
    values hold run-time macros such as $user): postconf reports no
    "undefined parameter" for a reference in them.  Found by setting each
    to an undefined $name and seeing which ones postconf does not warn
    about."""
    with tempfile.TemporaryDirectory() as d:
        with open(d + "/main.cf", "w") as f:
            for n in names:
                f.write("%s = $zzundef_%s\n" % (n, n))
        open(d + "/master.cf", "w").close()
        err = subprocess.run(["postconf", "-c", d, "-n"], capture_output=True,
                             text=True).stderr
    warned = set(re.findall(r"undefined parameter: zzundef_(\S+)", err))
    return {n for n in names if n not in warned and n not in READ_ONLY}


def hidden_parameters(known, docs):
    """Old names that postconf(5) documents and Postfix still accepts
    (fallback_relay, virtual_maps, ...) though `postconf -d` does not list
    them: set each in a main.cf and keep those that postconf -n prints."""
    cand = sorted(n for n in docs if n not in known)
    with tempfile.TemporaryDirectory() as d:
        with open(d + "/main.cf", "w") as f:
            for n in cand:
                f.write("%s = x\n" % n)
        open(d + "/master.cf", "w").close()
        out = subprocess.run(["postconf", "-c", d, "-n"], capture_output=True,
                             text=True).stdout
        printed = {line.split(" =")[0] for line in out.splitlines()}
        names = [n for n in cand if n in printed]
        out = subprocess.run(["postconf", "-c", d, "-d"] + names,
                             capture_output=True, text=True).stdout
    hidden = {}
    for line in out.splitlines():
        name, _, value = line.partition(" =")
        hidden[name] = value[1:] if value.startswith(" ") else value
    return hidden


def manual_sections():
    """The name -> description text of postconf(5), white space folded."""
    raw = gzip.open("/usr/share/man/man5/postconf.5.gz", "rt").read()
    text = subprocess.run(["man", "-l", "-"], input=raw, capture_output=True,
                          text=True, env={"MANWIDTH": "200",
                                          "PATH": "/usr/bin:/bin"}).stdout
    sections = {}
    cur = None
    for line in text.splitlines():
        m = re.match(r"^([a-z0-9_]+) \(default", line)
        if m:
            cur = m.group(1)
            sections[cur] = ""
        elif cur:
            sections[cur] += " " + line.strip()
    for k, v in sections.items():
        sections[k] = re.sub(r"[\s\u2010]+", " ", v.replace("\u2010 ", ""))
    return sections


UNITS = {"s": "s", "m": "m", "h": "h", "d": "d", "w": "w"}


def infer(name, default, doc):
    """(type, unit, min) for one parameter."""
    if name in TYPE_OVERRIDES:
        t, unit = TYPE_OVERRIDES[name]
        return t, unit, 0
    low = 1 if re.search(r"Specify a (non-zero|positive)", doc) else 0
    # "Specify a non-zero value to enable ..." is no bound when the default
    # itself is zero.
    if re.fullmatch(r"0+[smhdw]?", default):
        low = 0
    m = re.search(r"default time unit is ([smhdw])", doc)
    if m:
        return "TIME", m.group(1), low
    m = re.fullmatch(r"\d+([smhdw])", default)
    if m:
        return "TIME", m.group(1), low
    if default in ("yes", "no") or re.fullmatch(
            r"\$\{\{\$compatibility_level\} <level \{[0-9.]+\} \? "
            r"\{(yes|no)\} : \{(yes|no)\}\}", default):
        return "BOOL", None, 0
    if re.fullmatch(r"-?\d+", default):
        if "size" in name or re.search(r"\bbytes\b", doc[:400]):
            return "SIZE", None, low
        return "INT", None, low
    if name.endswith(LIST_SUFFIXES) or ", " in default:
        return "LIST", None, 0
    return "STR", None, 0


def c_string(s):
    """S as a C string literal."""
    out = []
    for ch in s:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 32:
            out.append("\\%03o" % ord(ch))
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def acted_in_existing(path="src/global/params.def"):
    """Names flagged ACTED in the committed params.def: engineers flip the
    flag there by hand when ulak starts acting on a parameter, and a
    regeneration must keep that."""
    try:
        text = open(path).read()
    except OSError:
        return set()
    return set(re.findall(r"^PARAM\(\w+, (\w+), .*\bACTED\b", text, re.M))


def ulak_in_existing(path="src/global/params.def"):
    """name -> line of the ulak extensions (flag ULAK) in the committed
    params.def: Postfix has no such parameter, so only that file knows it."""
    try:
        text = open(path).read()
    except OSError:
        return {}
    return {m.group(1): m.group(0) for m in
            re.finditer(r"^PARAM\(\w+, (\w+), .*\bULAK\b.*$", text, re.M)}


def main():
    ACTED.extend(sorted(acted_in_existing() - set(ACTED)))
    extensions = ulak_in_existing()
    params = postconf_defaults()
    docs = manual_sections()
    raw = raw_parameters(sorted(params))
    hidden = hidden_parameters(params, docs)
    params.update(hidden)
    w = sys.stdout.write
    w("/*\n * params.def - every parameter that Postfix 3.7 knows.\n *\n"
      " * GENERATED by scripts/gen_params.py from Postfix 3.7's `postconf -d`"
      "\n * and postconf(5); fix types in the script's override lists, not"
      " here.\n *\n"
      " * PARAM(type, name, default, min, max, flags)\n"
      " *   type   STR LIST BOOL INT SIZE TIME_S TIME_M TIME_H TIME_D"
      " TIME_W\n"
      " *          (TIME_x: a time whose bare numbers are in unit x)\n"
      " *   min/max bounds for INT, SIZE and TIME (seconds); MAX = no limit\n"
      " *   flags  ACTED: ulak acts on it; DYN: default computed at run"
      " time;\n"
      " *          RAW: never expanded at configuration time (run-time"
      " macros);\n"
      " *          RO: read-only, a main.cf setting is ignored;\n"
      " *          HIDDEN: an old name Postfix accepts but -d does not list;"
      "\n *          ULAK: an ulak extension that Postfix does not have"
      " (added by\n *          hand; a regeneration keeps these lines as"
      " they are)\n */\n")
    for name in sorted(set(params) | set(extensions)):
        if name in extensions:
            w(extensions[name] + "\n")
            continue
        default = DEFAULT_OVERRIDES.get(name, params[name])
        t, unit, low = infer(name, params[name], docs.get(name, ""))
        if name in hidden:
            # Old names with an empty default: no type to check.
            t, unit, low = "STR", None, 0
        if t == "TIME":
            t = "TIME_" + unit.upper()
        flags = []
        if name in ACTED:
            flags.append("ACTED")
        if name in DYNAMIC:
            flags.append("DYN")
        if name in raw:
            flags.append("RAW")
        if name in READ_ONLY:
            flags.append("RO")
        if name in hidden:
            flags.append("HIDDEN")
        w("PARAM(%s, %s, %s, %d, MAX, %s)\n" % (
            t, name, c_string(default), low,
            " | ".join(flags) if flags else "0"))


if __name__ == "__main__":
    main()
