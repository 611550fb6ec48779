/*
 * Signature strings for listeners: "p,i,d,m24,...->i".
 *
 * Arguments are comma-separated class letters (call.h, enum chook__sigclass);
 * "..." may end the list; "->" then one return letter. Spaces are ignored. Only
 * the classes matter to placement (the ABI's, chook_arch_sig_place()): a char or
 * a long are both "i". Aggregates of up to 16 bytes are split into registers by
 * the ABI's per-eightbyte rules, which a class letter cannot say: describe such a
 * struct by its eightbytes ("i,d" for struct { long a; double b; }).
 */
#include "call.h"
#include "internal.h"

static const char *skip_spaces(const char *p)
{
    while (*p == ' ' || *p == '\t') p++;
    return p;
}

static int bad(const char *text, const char *at, const char *why)
{
    return chook__fail(CHOOK_EINVAL, "signature \"%s\": %s at offset %ld", text, why,
                       (long)(at - text));
}

int chook__sig_parse(const char *text, struct chook__sig *out)
{
    chook__memset(out, 0, sizeof *out);
    const char *p = skip_spaces(text);
    /* An empty list ("->i") or "v" mean no arguments. */
    if (p[0] == 'v' && skip_spaces(p + 1)[0] == '-') p = skip_spaces(p + 1);
    while (*p && *p != '-') {
        if (p[0] == '.' && p[1] == '.' && p[2] == '.') {
            out->variadic = 1;
            p = skip_spaces(p + 3);
            if (*p != '-') return bad(text, p, "\"...\" must be the last argument");
            break;
        }
        if (out->n_args == CHOOK__SIG_MAX_ARGS)
            return chook__fail(CHOOK_ENOTSUP, "signature \"%s\": more than %d arguments", text,
                               CHOOK__SIG_MAX_ARGS);
        unsigned i = out->n_args;
        char c = *p++;
        switch (c) {
        case 'i': case 'p':
            out->n_int++;
            out->arg[i].cls = (uint8_t)c;
            out->arg[i].size = 8;
            break;
        case 'd': case 'f':
            out->n_flt++;
            out->arg[i].cls = (uint8_t)c;
            out->arg[i].size = 8;
            break;
        case 'm': {
            unsigned long size = 0;
            const char *digits = p;
            while (*p >= '0' && *p <= '9' && size <= CHOOK__SIG_MAX_MEM)
                size = size * 10 + (unsigned long)(*p++ - '0');
            if (p == digits) return bad(text, p, "'m' needs a size in bytes");
            if (size <= 16)
                return chook__fail(CHOOK_ENOTSUP,
                                   "signature \"%s\": an aggregate of %lu bytes is passed in "
                                   "registers; describe its eightbytes with i/d instead",
                                   text, size);
            if (size > CHOOK__SIG_MAX_MEM)
                return chook__fail(CHOOK_ENOTSUP,
                                   "signature \"%s\": aggregate larger than %u bytes", text,
                                   CHOOK__SIG_MAX_MEM);
            out->arg[i].cls = CHOOK__SIG_MEM;
            out->arg[i].size = (uint32_t)size;
            break;
        }
        default:
            return bad(text, p - 1, "unknown argument class (use i, p, d, f, mN or ...)");
        }
        out->n_args++;
        p = skip_spaces(p);
        if (*p == ',') p = skip_spaces(p + 1);
        else if (*p != '-') return bad(text, p, "expected ',' or \"->\"");
    }
    if (p[0] != '-' || p[1] != '>') return bad(text, p, "expected \"->\" and a return class");
    p = skip_spaces(p + 2);
    switch (*p) {
    case 'i': case 'p': case 'd': case 'f': case 'v':
        out->ret = (uint8_t)*p++;
        break;
    default:
        return bad(text, p, "unknown return class (use i, p, d, f or v)");
    }
    if (*skip_spaces(p)) return bad(text, skip_spaces(p), "unexpected text after the return class");

    char err[CHOOK_ARCH_ERRLEN] = "";
    int st = chook_arch_sig_place(out, err, sizeof err);
    if (st != CHOOK_OK)
        return chook__fail(st, "signature \"%s\": %s", text, err[0] ? err : "cannot be placed");
    return CHOOK_OK;
}
