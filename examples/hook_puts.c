/*
 * The first thing to try: redirect puts() to a replacement that calls the
 * original, then remove the hook.
 *
 *   make demo        (or: build/examples/hook_puts)
 */
#include <stdio.h>

#include <chook/chook.h>

static int (*orig_puts)(const char *);

static int my_puts(const char *s)
{
    orig_puts("[hooked]");
    return orig_puts(s);
}

int main(void)
{
    int st = CHOOK_INSTALL(puts, my_puts, &orig_puts); /* type-checked, no casts */
    if (st != CHOOK_OK) {
        fprintf(stderr, "chook_install: %s: %s\n", chook_strerror(st), chook_last_error());
        return 1;
    }
    puts("hello");            /* prints [hooked] then hello */
    st = CHOOK_UNINSTALL(puts);
    if (st != CHOOK_OK) {
        fprintf(stderr, "chook_uninstall: %s\n", chook_last_error());
        return 1;
    }
    puts("goodbye");          /* the original bytes are back: just goodbye */
    return 0;
}
