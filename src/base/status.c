/*
 * Status names and the per-thread message of the last failure
 * (chook_strerror / chook_last_error, after SQLite's errstr / errmsg).
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"

static const char *const status_names[] = {
    [0]  = "CHOOK_OK: success",
    [1]  = "CHOOK_EINVAL: invalid argument",
    [2]  = "CHOOK_ENOMEM: out of memory",
    [3]  = "CHOOK_EUNMAPPED: address not mapped",
    [4]  = "CHOOK_ENOTEXEC: address not executable",
    [5]  = "CHOOK_ETOOSHORT: function too short to patch",
    [6]  = "CHOOK_EBRANCHIN: code branches into the bytes to patch",
    [7]  = "CHOOK_EUNRELOC: instruction cannot be relocated",
    [8]  = "CHOOK_EDECODE: bytes do not decode as instructions",
    [9]  = "CHOOK_ENOTHOOKED: not hooked",
    [10] = "CHOOK_EEXIST: already installed",
    [11] = "CHOOK_ESELF: replacement is the target itself",
    [12] = "CHOOK_ETXN: transaction misuse",
    [13] = "CHOOK_EPATCH: writing code failed or code changed",
    [14] = "CHOOK_ETHREADS: threads could not be stopped",
    [15] = "CHOOK_ENOSYS: system facility missing",
    [16] = "CHOOK_ENOMODULE: no such module",
    [17] = "CHOOK_ENOSYM: no such symbol",
    [18] = "CHOOK_EAMBIGUOUS: ambiguous symbol",
    [19] = "CHOOK_EBUSY: not possible from here now",
    [20] = "CHOOK_ENOTSUP: not supported",
    [21] = "CHOOK_EINTERNAL: internal error",
    [22] = "CHOOK_ENOLEAVE: function returns twice or reads its return address",
};

const char *chook_strerror(int status)
{
    if (status > 0 || -status >= (int)CHOOK_ARRAY_LEN(status_names) ||
        !status_names[-status])
        return "unknown status";
    return status_names[-status];
}

/* initial-exec keeps access free of __tls_get_addr (and its allocation). */
static __thread char last_error[512] __attribute__((tls_model("initial-exec")));

const char *chook_last_error(void)
{
    return last_error;
}

void chook__clear_error(void)
{
    last_error[0] = 0;
}

int chook__vfail(int status, const char *fmt, va_list ap)
{
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    return status;
}

int chook__fail(int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    chook__vfail(status, fmt, ap);
    va_end(ap);
    return status;
}

int chook__fail_context(int status, const char *fmt, ...)
{
    char old[sizeof last_error];
    size_t old_len = strlen(last_error);
    memcpy(old, last_error, old_len + 1);
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    if (n < 0) n = 0;
    size_t used = (size_t)n < sizeof last_error ? (size_t)n : sizeof last_error - 1;
    size_t room = sizeof last_error - 1 - used;
    if (old_len > room) old_len = room;
    memcpy(last_error + used, old, old_len);
    last_error[used + old_len] = 0;
    return status;
}

void chook__set_last_error(const char *message)
{
    size_t n = strlen(message);
    if (n >= sizeof last_error) n = sizeof last_error - 1;
    memmove(last_error, message, n);
    last_error[n] = 0;
}
