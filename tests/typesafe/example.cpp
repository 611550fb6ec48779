// The README's example with the templates of chook.hpp, built with -Wpedantic
// -Werror: no cast is written and no warning is given.
#include <cstring>

#include <chook.hpp>

#include "typesafe.h"

static char said[64];

extern "C" __attribute__((noipa)) int typesafe_say_cpp(const char *s)
{
    std::size_t n = std::strlen(said);
    std::strncpy(said + n, s, sizeof said - n - 1);
    return static_cast<int>(std::strlen(s));
}

static int (*orig_say)(const char *);
static int my_say(const char *s)
{
    orig_say("[hooked]");
    return orig_say(s);
}

static int enters;
static int count_enter(chook_call *, void *)
{
    enters++;
    return CHOOK_CONTINUE;
}

extern "C" int typesafe_cpp(void)
{
    said[0] = 0;
    if (chook::install(typesafe_say_cpp, my_say, &orig_say) != CHOOK_OK) return 1;
    typesafe_say_cpp("hello");
    if (std::strcmp(said, "[hooked]hello") != 0) return 2;
    if (chook::uninstall(typesafe_say_cpp) != CHOOK_OK) return 3;
    said[0] = 0;
    typesafe_say_cpp("hello");
    if (std::strcmp(said, "hello") != 0) return 4;
    chook_listener *l = nullptr;
    if (chook::attach(typesafe_say_cpp, count_enter, nullptr, nullptr, &l) != CHOOK_OK) return 5;
    typesafe_say_cpp("x");
    if (chook_detach(l) != CHOOK_OK || enters != 1) return 6;
    chook_probe_info info = {};
    if (chook::probe(typesafe_say_cpp, &info) != CHOOK_OK || info.status != CHOOK_OK) return 7;
    return 0;
}
