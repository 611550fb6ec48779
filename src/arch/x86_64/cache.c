/*
 * Instruction-cache maintenance after a code write (src/arch.h).
 */
#include <stddef.h>

#include "arch.h"

/* Nothing to do on x86-64: the processor keeps instruction fetch coherent with
 * stores to the same physical memory, including stores made by the kernel
 * through /proc/self/mem (self-modifying code is detected in hardware). What x86
 * does require, a serialising instruction on every core that runs code another
 * core modified, is chook_arch_serialize / membarrier SYNC_CORE, done by the
 * stop protocol (stop.h), not per range. */
void chook_arch_flush_icache(void *addr, size_t len)
{
    (void)addr;
    (void)len;
}
