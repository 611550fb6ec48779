#include <chook.hpp>
static int target(const char *s) { return s != nullptr; }
static long other(const char *s) { return s != nullptr; }
static int (*orig)(const char *);
int use() { return chook::install(target, other, &orig); }
