#include <chook.h>
static int target(const char *s) { return s != 0; }
static long other(const char *s) { return s != 0; }
static int (*orig)(const char *);
int use(void) { return CHOOK_INSTALL(target, other, &orig); }
