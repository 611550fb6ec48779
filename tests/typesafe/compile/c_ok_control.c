#include <chook.h>
static int target(const char *s) { return s != 0; }
static int repl(const char *s) { return s != 0; }
static int (*orig)(const char *);
int use(void) { return CHOOK_INSTALL(target, repl, &orig) + CHOOK_UNINSTALL(target); }
