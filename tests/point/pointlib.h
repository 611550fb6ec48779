/* The functions of the point test library (tests/point/pointlib.c). */
#ifndef CHOOK_TEST_POINTLIB_H
#define CHOOK_TEST_POINTLIB_H

long lib_add(long a, long b);
void lib_event(int kind);
int lib_events(void);
const char *lib_mode(void);

#endif
