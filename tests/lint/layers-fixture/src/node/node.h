#ifndef FIXTURE_NODE_NODE_H
#define FIXTURE_NODE_NODE_H
extern int node_hooks; /* a writable global: using it from another folder is a hidden channel */
int node_start(const char *dir);
#endif
