"""Random master.cf lines for the differential tests in test_master_cf.py.

usage: python3 gen_random.py SEED COUNT > random-SEED.cf

The words mix options, -o forms, { } groups (some broken) and long words;
lines are split at random into continuation lines and comment lines.  A
lone "-" is left out on purpose: Postfix's postconf prints uninitialized
memory after it in some cases.
"""
import random, sys
random.seed(int(sys.argv[1]))
words = ["-o", "-v", "-D", "-vo", "-ox=1", "--", "x=1", "a", "{a b}", "{ a = b }", "{x=1}", "{ }", "{}", "{a = x\ty  z}",
         "flags=R", "argv=/bin/x", "${recipient}", "$(sender)", "-o", "-o", "name=value", "{-v}", "{ -o }", "y=",
         "=z", "{{a} b}", "aaaaaaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "-t", "unix", "{a=b c}",
         "-oa=b", "-Dvo", "{a", "b}", "c{d}", "q"]
svcs = ["a", "smtp", "127.0.0.1:10025", "[::1]:25", "very-long-service-name", "{s v}", "x"*10, "y"*11]
types = ["unix", "inet", "fifo", "pass", "unix-dgram"]
lines = []
for i in range(int(sys.argv[2])):
    f = [random.choice(svcs), random.choice(types), random.choice("yn-"), random.choice("yn-"), random.choice("yn-"),
         random.choice(["-", "60", "1000?", "?", "0"]), random.choice(["-", "0", "1", "100"]),
         random.choice(["smtp", "pipe", "smtpd", "{cmd x}"])]
    f += [random.choice(words) for _ in range(random.randint(0, 14))]
    sep = lambda: random.choice([" ", "  ", "\t", "\n  ", " \n\t", "\n# c\n "])
    line = f[0]
    for w in f[1:]:
        line += sep() + w
    lines.append(line)
print("\n".join(lines))
