/*
 * error - Postfix's error(8) and retry delivery agent: every recipient of
 * a request is bounced (service name "error") or deferred (service name
 * "retry") with the next-hop text as the reason ("error:5.1.1 text" in a
 * transport table: the optional RFC 3463 code, default 5.0.0 or 4.0.0).
 * The log says relay=none.
 */
#ifndef ULAK_ERROR_H
#define ULAK_ERROR_H

int error_main(int argc, char **argv);

#endif
