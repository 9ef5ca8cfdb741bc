#ifndef FIXTURE_NODE_NODE_INT_H
#define FIXTURE_NODE_NODE_INT_H
/* Private to node/: <comp>__name functions and <comp>-int.h headers stay in their folder. */
int node__pods(void);
#endif
