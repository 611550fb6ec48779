/*
 * The README's example with the type-safe macros, built with -Wpedantic -Werror:
 * no cast is written and no warning is given.
 */
#include <string.h>

#include <chook.h>

#include "typesafe.h"

static char said[64];

__attribute__((noipa)) int typesafe_say_c(const char *s)
{
    size_t n = strlen(said);
    strncpy(said + n, s, sizeof said - n - 1);
    return (int)strlen(s);
}

static int (*orig_say)(const char *);
static int my_say(const char *s)
{
    orig_say("[hooked]");
    return orig_say(s);
}

int typesafe_c(void)
{
    said[0] = 0;
    chook_hook *h = NULL;
    if (CHOOK_INSTALL(typesafe_say_c, my_say, &orig_say) != CHOOK_OK) return 1;
    typesafe_say_c("hello");
    if (strcmp(said, "[hooked]hello") != 0) return 2;
    if (CHOOK_UNINSTALL(typesafe_say_c) != CHOOK_OK) return 3;
    said[0] = 0;
    typesafe_say_c("hello");
    if (strcmp(said, "hello") != 0) return 4;
    if (CHOOK_INSTALL_EX(typesafe_say_c, my_say, &orig_say, &h) != CHOOK_OK || !h) return 5;
    if (chook_remove(h) != CHOOK_OK) return 6;
    chook_probe_info info = { .size = sizeof info };
    if (chook_probe(CHOOK_FN(typesafe_say_c), &info) != CHOOK_OK || info.status != CHOOK_OK)
        return 7;
    return 0;
}
