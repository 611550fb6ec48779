/*
 * The hook targets of tests/fixtures/live_targets.S.
 */
#ifndef CHOOK_TESTS_LIVE_TARGETS_H
#define CHOOK_TESTS_LIVE_TARGETS_H

#define LIVE_MANY 1000

/* Returns 2x + 1; counts its executions in live_target_calls. */
long live_target(long x);
extern long live_target_calls;

/* live_many_table[n](x) returns x + n and counts in live_many_calls;
 * live_many_repl_table[n] counts in live_many_repl_hits and jumps to
 * live_many_orig[n]. */
typedef long (*live_many_fn)(long);
extern live_many_fn live_many_table[LIVE_MANY];
extern void *live_many_repl_table[LIVE_MANY];
extern void *live_many_orig[LIVE_MANY];
extern long live_many_calls, live_many_repl_hits;

#endif /* CHOOK_TESTS_LIVE_TARGETS_H */
