/*
 * Hook points compiled into the source: a function declares a point; an agent
 * finds it by name at run time, lists the points of the process, attaches a
 * typed prolog that validates (and may refuse) a call and an epilog that sees
 * the result, then swaps in generic callbacks, detaches and waits.
 *
 *   $ ./point_audit
 */
#include <stdio.h>
#include <string.h>

#include <chook/chook_point.h>

/* ---- the instrumented code (would live in a library) -------------------------- */

CHOOK_POINT(transfer, int, const char *, long);

int transfer(const char *to, long cents)
{
    CHOOK_ENTER(transfer, to, cents);
    printf("  transfer: %ld cents to %s\n", cents, to);
    CHOOK_RETURN(transfer, 0);
}

/* ---- the agent ------------------------------------------------------------------- */

static void audit_epilog(void *data, int *result)
{
    printf("  audit: %s -> %d\n", (const char *)data, *result);
}

/* Refuses negative amounts; caps the others; logs every call through its epilog. */
static int audit_prolog(void *data, chook_point_epilog_transfer *epilog, int *result,
                        const char **to, long *cents)
{
    (void)data;
    epilog->fn = audit_epilog;
    epilog->data = (void *)*to; /* per-call state for the epilog */
    if (*cents < 0) {
        *result = -1;
        return CHOOK_POINT_ABORT;
    }
    if (*cents > 100000) *cents = 100000;
    return CHOOK_POINT_CONTINUE;
}

static int count_enter(chook_call *call, void *data)
{
    ++*(int *)data;
    printf("  generic: argument 1 = %ld\n", (long)*chook_arg(call, 1));
    return CHOOK_CONTINUE;
}

static int list_point(const chook_point_info *info, void *ctx)
{
    (void)ctx;
    printf("  %s %s  [%s:%u, %s]\n", info->name, info->signature, info->file, info->line,
           info->state == CHOOK_POINT_DETACHED ? "detached" : "attached");
    return 0;
}

static int fail(const char *what)
{
    fprintf(stderr, "%s: %s\n", what, chook_last_error());
    return 1;
}

int main(void)
{
    chook_point *p;
    if (chook_point_find("transfer", &p) != CHOOK_OK) return fail("find");
    printf("points of this process:\n");
    if (chook_point_each(list_point, NULL) != CHOOK_OK) return fail("each");

    printf("typed prolog + epilog:\n");
    if (chook_point_attach_transfer(p, audit_prolog, NULL) != CHOOK_OK) return fail("attach");
    transfer("alice", 250);
    transfer("bob", 5000000);
    printf("  refused call returned %d\n", transfer("mallory", -10));

    printf("generic callback:\n");
    int calls = 0;
    if (chook_point_attach_generic(p, count_enter, NULL, &calls) != CHOOK_OK)
        return fail("attach_generic");
    transfer("carol", 42);

    if (chook_point_detach(p) != CHOOK_OK) return fail("detach");
    /* After this, no callback runs or will run: `calls` may go out of scope. */
    if (chook_point_wait(p, CHOOK_POINT_WAIT_FOREVER) != CHOOK_OK) return fail("wait");
    printf("detached (%d generic call):\n", calls);
    transfer("dave", 1);
    return 0;
}
