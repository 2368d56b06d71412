"""Random master.cf lines for the differential tests in test_master_cf.py.

usage: python3 gen_random.py [--fold|--groups] SEED COUNT > random-SEED.cf

With --groups, service names and commands include { } groups.  With --fold, the lines are made to test folding instead: words of random
length around the 80-column limit, braced words, -o units, empty words.

The words mix options, -o forms, { } groups (some broken) and long words;
lines are split at random into continuation lines and comment lines.  A
lone "-" is left out on purpose: Postfix's postconf prints uninitialized
memory after it in some cases.
"""
import random, sys


def fold_lines(count):
    """Lines for the -Mf folding rules."""
    def word():
        r = random.random()
        n = random.randint(1, 30)
        if r < 0.15:
            return "{" + "a" * max(1, n // 2) + " " + "b" * max(1, n // 2) + "}"
        if r < 0.25:
            return "-o x" + "v" * n + "=1"
        if r < 0.30:
            return "{}"
        return "w" * n
    out = []
    for _ in range(count):
        svc = random.choice(["s", "x" * random.randint(1, 25), "127.0.0.1:10025"])
        cmd = random.choice(["pipe", "smtpd", "c" * random.randint(1, 30)])
        args = " ".join(word() for _ in range(random.randint(0, 20)))
        kind = random.choice(["unix", "inet", "unix-dgram"])
        wake = random.choice(["-", "1000?", "12345678"])
        out.append(f"{svc} {kind} - - n {wake} - {cmd} {args}")
    return out


if sys.argv[1] == "--fold":
    random.seed(int(sys.argv[2]))
    print("\n".join(fold_lines(int(sys.argv[3]))))
    sys.exit(0)
groups = sys.argv[1] == "--groups"
if groups:
    del sys.argv[1]
random.seed(int(sys.argv[1]))
words = ["-o", "-v", "-D", "-vo", "-ox=1", "--", "x=1", "a", "{a b}", "{ a = b }", "{x=1}", "{ }", "{}", "{a = x\ty  z}",
         "flags=R", "argv=/bin/x", "${recipient}", "$(sender)", "-o", "-o", "name=value", "{-v}", "{ -o }", "y=",
         "=z", "{{a} b}", "aaaaaaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "-t", "unix", "{a=b c}",
         "-oa=b", "-Dvo", "{a", "b}", "c{d}", "q"]
svcs = ["a", "smtp", "127.0.0.1:10025", "[::1]:25", "very-long-service-name", "{s v}", "x"*10, "y"*11]
cmds = ["smtp", "pipe", "smtpd", "{cmd x}"]
if groups:
    svcs = ["{ smtp }", "{a b}", "{x}y"] + svcs
    cmds = cmds + ["{ cmd }", "{c}d"]
types = ["unix", "inet", "fifo", "pass", "unix-dgram"]
lines = []
for i in range(int(sys.argv[2])):
    f = [random.choice(svcs), random.choice(types), random.choice("yn-"), random.choice("yn-"), random.choice("yn-"),
         random.choice(["-", "60", "1000?", "?", "0"]), random.choice(["-", "0", "1", "100"]),
         random.choice(cmds)]
    f += [random.choice(words) for _ in range(random.randint(0, 14))]
    sep = lambda: random.choice([" ", "  ", "\t", "\n  ", " \n\t", "\n# c\n "])
    line = f[0]
    for w in f[1:]:
        line += sep() + w
    lines.append(line)
print("\n".join(lines))
