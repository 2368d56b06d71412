/*
 * discard - Postfix's discard(8) delivery agent: every recipient of a
 * request is reported delivered without any delivery, with the next-hop
 * text as the reason ("discard:2.0.0 text": the optional RFC 3463 code
 * keeps its detail, the class is always 2).  The log says relay=none.
 */
#ifndef ULAK_DISCARD_H
#define ULAK_DISCARD_H

int discard_main(int argc, char **argv);

#endif
