/*
 * fuzz_common - helpers shared by the libFuzzer drivers.
 *
 * The configuration and table parsers read files, so a driver writes each
 * input to a private scratch file first.  Diagnostics are silenced: a
 * parser that reports bad input is doing its job; one that crashes, leaks,
 * hangs or calls msg_fatal is the bug the fuzzer is looking for.
 */
#ifndef ULAK_FUZZ_COMMON_H
#define ULAK_FUZZ_COMMON_H

#include "lib/msg.h"
#include "lib/str.h"

#include <unistd.h>
#include <fcntl.h>

/* fuzz_fatal - msg_fatal must never run on bad input */
static void fuzz_fatal(int status)
{
    (void) status;
    abort();
}

/* fuzz_init - silence logging and trap msg_fatal, once */
static void fuzz_init(void)
{
    static int done;

    if (!done) {
        msg_init("fuzz");
        msg_output_stderr(false);
        msg_set_exit_hook(fuzz_fatal);
        done = 1;
    }
}

/* fuzz_write - write DATA to DIR/NAME, creating DIR; 0 or -1 */
static int fuzz_write(const char *dir, const char *name, const uint8_t *data,
                      size_t len)
{
    char path[256];
    int fd;

    (void) mkdir(dir, 0700);
    if (str_fmt(path, sizeof(path), "%s/%s", dir, name) < 0)
        return -1;
    if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) < 0)
        return -1;
    if (write(fd, data, len) != (ssize_t) len) {
        close(fd);
        return -1;
    }
    close(fd);
    return 0;
}

#endif
