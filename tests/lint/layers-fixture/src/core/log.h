/* Fixture for tests/lint/layers-fixture.sh: a tiny src/ tree that follows the layer rules. */
#ifndef FIXTURE_CORE_LOG_H
#define FIXTURE_CORE_LOG_H
void log_msg(const char *msg);
#endif
