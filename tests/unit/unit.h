/*
 * unit.h — a tiny TAP-style harness for Reconnu's C unit tests.
 *
 *   int main(void) { unit_plan_begin(); ok(1 + 1 == 2, "sum"); return unit_done(); }
 *
 * Prints "ok N - msg" / "not ok N - msg" per check and ends with the plain
 * line "N passed, N failed" that CI reads. Exit status is 0 only when
 * nothing failed.
 */
#ifndef RECONNU_UNIT_H
#define RECONNU_UNIT_H

#include <stdio.h>
#include <string.h>

static int unit__passed, unit__failed;

static inline int unit__check(int cond, const char *file, int line,
			      const char *fmt, const char *expr)
{
	if (cond) {
		unit__passed++;
		printf("ok %d - %s\n", unit__passed + unit__failed, fmt);
	} else {
		unit__failed++;
		printf("not ok %d - %s\n#   %s:%d: %s\n",
		       unit__passed + unit__failed, fmt, file, line, expr);
	}
	return cond;
}

/** ok(cond, "message"): one check. */
#define ok(cond, msg) unit__check(!!(cond), __FILE__, __LINE__, (msg), #cond)
/** is_int(a, b, msg), is_str(a, b, msg): equality with both values shown. */
#define is_int(a, b, msg)                                                    \
	do {                                                                 \
		long long unit__a = (long long)(a), unit__b = (long long)(b);    \
		if (!ok(unit__a == unit__b, msg))                            \
			printf("#   got %lld, want %lld\n", unit__a, unit__b);   \
	} while (0)
#define is_str(a, b, msg)                                                    \
	do {                                                                 \
		const char *unit__a = (a), *unit__b = (b);                   \
		if (!ok(unit__a && unit__b && strcmp(unit__a, unit__b) == 0, \
			msg))                                                \
			printf("#   got \"%s\", want \"%s\"\n",              \
			       unit__a ? unit__a : "(null)",                 \
			       unit__b ? unit__b : "(null)");                \
	} while (0)

static inline void unit_plan_begin(void) { setvbuf(stdout, NULL, _IOLBF, 0); }

static inline int unit_done(void)
{
	printf("%d passed, %d failed\n", unit__passed, unit__failed);
	return unit__failed ? 1 : 0;
}

#endif
