/*
 * dictq - "postmap -q KEY TYPE:NAME" for the table types alone, used by
 * tests/e2e/test_pattern_tables.py while the postmap command is not there.
 * Usage: dictq [-f] KEY TYPE:NAME
 */
#include "lib/dict.h"
#include "lib/msg.h"

/* main - look one key up and print the result like postmap -q */
int main(int argc, char **argv)
{
    struct buf why = BUF_INIT;
    struct buf value = BUF_INIT;
    struct dict *d;
    int flags = DICT_FLAG_FOLD_FIX;
    int i = 1;

    msg_init("postmap");
    if (argc > 1 && strcmp(argv[1], "-f") == 0) {
        flags = 0;
        i++;
    }
    if (argc - i != 2)
        msg_fatal("usage: dictq [-f] key type:name");
    if ((d = dict_open(argv[i + 1], O_RDONLY, flags, &why)) == NULL)
        msg_fatal("%s", buf_str(&why));
    switch (dict_lookup(d, argv[i], &value)) {
        case LK_FOUND:
            printf("%s\n", buf_str(&value));
            return 0;
        case LK_NOTFOUND:
            return 1;
        case LK_TEMPFAIL:
            msg_fatal("table %s:%s: query error: %s", d->type, d->name,
                      dict_why(d));
    }
    return 1;
}
