/* The continue token of paged lists (continue.c). */
#ifndef KROLL_API_CONTINUE_H
#define KROLL_API_CONTINUE_H

#include "core/err.h"

struct list_token {
    long long rv; /* the first page's revision; -1: go on from the current state */
    char ns[256], name[256]; /* the last object returned */
};

/* A new token (malloc'd) to go on after ns/name at revision rv. */
char *list_token_encode(long long rv, const char *ns, const char *name);
/* Parses a token: 0, or -E_BAD_REQUEST with upstream's "continue key is not valid: ...". */
int list_token_decode(const char *s, struct list_token *t, struct err *err);

#endif
