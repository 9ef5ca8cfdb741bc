/* Go duration strings as Argo Rollouts' DurationString (time.ParseDuration): "30s", "5m",
 * "1h30m", "1.5h", "250ms", "0". Used by analysis metrics' interval and initialDelay. */
#ifndef KROLL_CORE_DUR_H
#define KROLL_CORE_DUR_H

#include <stdint.h>

#define DUR_MAX_LEN 64 /* longer strings are refused */

/* Parses s into *ms (milliseconds, truncated; negative values allowed as Go allows them).
 * Returns 0, or -1 for an invalid string (no unit, unknown unit, empty, too long, overflow
 * beyond about 292 years). */
int dur_parse(const char *s, int64_t *ms);

#endif
