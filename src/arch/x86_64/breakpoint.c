/*
 * Breakpoints for breakpoint-first patching on x86-64: int3 (cc) is one byte, so
 * writing it over the first byte of an instruction is atomic for every core that
 * fetches it; the trap reports the address after it.
 */
#include <signal.h>
#include <ucontext.h>

#include "arch.h"

size_t chook_arch_write_breakpoint(uint8_t *buf)
{
    buf[0] = 0xcc; /* int3 */
    return 1;
}

int chook_arch_breakpoint_address(const void *siginfo, const void *ucontext, uintptr_t *at)
{
    const siginfo_t *si = siginfo;
    /* int3 raises SIGTRAP with si_code SI_KERNEL; rip points past the cc byte. */
    if (si->si_signo != SIGTRAP || si->si_code != SI_KERNEL) return 0;
    *at = chook_arch_context_pc(ucontext) - 1;
    return 1;
}
