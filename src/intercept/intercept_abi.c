/*
 * Compile-time checks that intercept_abi.h, the contract the arch dispatchers
 * are written against, matches the core's structures. An arch checks only its
 * own register block (chook_arch_iregs) against its own offsets.
 */
#include <stddef.h>

#include "intercept.h"

#define AT(type, field, off) _Static_assert(offsetof(type, field) == (off), #off)

AT(struct chook__iframe, call, ICPT_F_CALL);
AT(struct chook__iframe, call.flags, ICPT_F_CALL_FLAGS);
AT(struct chook__iframe, call.ret, ICPT_F_RET);
AT(struct chook__iframe, call.fret, ICPT_F_FRET);
AT(struct chook__iframe, call.data, ICPT_F_CALL_DATA);
AT(struct chook__iframe, call.sig, ICPT_F_CALL_SIG);
AT(struct chook__iframe, slot_bytes, ICPT_F_SLOT_BYTES);
AT(struct chook__iframe, chain, ICPT_F_CHAIN);
AT(struct chook__iframe, depth, ICPT_F_DEPTH);
AT(struct chook__iframe, n, ICPT_F_N);
AT(struct chook__iframe, thread, ICPT_F_THREAD);
AT(struct chook__iframe, tls, ICPT_F_TLS);
AT(struct chook__iframe, regs, ICPT_F_REGS);
_Static_assert(ICPT_F_REGS % 16 == 0 && sizeof(chook_arch_iregs) % 16 == 0,
               "the registers 16-aligned in a 16-aligned frame");
_Static_assert(sizeof(struct chook__iframe) == ICPT_FRAME_SIZE(sizeof(chook_arch_iregs)) &&
                   offsetof(struct chook__iframe, entry) ==
                       ICPT_FRAME_SIZE(sizeof(chook_arch_iregs)) - 8,
               "ICPT_FRAME_SIZE: the entry word last");
_Static_assert(sizeof(((chook_call *)0)->flags) == 4 && sizeof(((chook_call *)0)->ret) == 16 &&
                   sizeof(((chook_call *)0)->fret) == 32,
               "chook_call field sizes");
_Static_assert(CHOOK__CALL_SKIPPED == ICPT_CALL_SKIPPED && CHOOK__CALL_FRAME == ICPT_CALL_FRAME &&
                   CHOOK_SKIP == ICPT_SKIP,
               "flags");

AT(struct chook__ictx, slot_bytes, ICPT_CTX_SLOT_BYTES);
AT(struct chook__ictx, chain, ICPT_CTX_CHAIN);
AT(struct chook__ictx, original, ICPT_CTX_ORIGINAL);
AT(struct chook__ictx, target, ICPT_CTX_TARGET);
AT(struct chook__ictx, entry, ICPT_CTX_ENTRY);
AT(struct chook__keep, ret_keep, ICPT_KEEP_RET);
AT(struct chook__keep, dest, ICPT_CTX_ORIGINAL);
AT(struct chook__keep, entry, ICPT_CTX_ENTRY);

AT(struct chook__ichain, n, ICPT_CH_N);
AT(struct chook__ichain, stack_bytes, ICPT_CH_STACK_BYTES);
AT(struct chook__ichain, l, ICPT_CH_L);
_Static_assert(CHOOK__ICPT_STACK_CALLER == ICPT_STACK_CALLER, "ICPT_STACK_CALLER");

AT(chook_listener, on_enter, ICPT_L_ON_ENTER);
AT(chook_listener, on_leave, ICPT_L_ON_LEAVE);
AT(chook_listener, data, ICPT_L_DATA);
AT(chook_listener, sig, ICPT_L_SIG);
AT(chook_listener, detached, ICPT_L_DETACHED);
_Static_assert(sizeof(((chook_listener *)0)->detached) == 4, "ICPT_L_DETACHED: 32 bits");

AT(struct chook__ithread, win, ICPT_IT_WIN);
AT(struct chook__ithread, wgen, ICPT_IT_WGEN);
AT(struct chook__ithread, depth, ICPT_IT_DEPTH);
AT(struct chook__ithread, inflight, ICPT_IT_INFLIGHT);
AT(struct chook__ithread, inflight[0].frame, ICPT_IT_INFLIGHT + 8);
_Static_assert(sizeof(((struct chook__ithread *)0)->inflight[0]) == 16 &&
                   CHOOK__ICPT_INFLIGHT == ICPT_INFLIGHT,
               "ICPT_INFLIGHT");

AT(struct chook__tls_block, state, 0);
AT(struct chook__tls_block, state.busy, ICPT_TLS_BUSY);
AT(struct chook__tls_block, state.ignore, ICPT_TLS_BUSY + 4);
AT(struct chook__tls_block, ithread, ICPT_TLS_ITHREAD);
_Static_assert(sizeof(((chook__thread_state *)0)->busy) == 4, "busy and ignore: one 8-byte word");

_Static_assert(CHOOK__ICPT_JUMP == ICPT_JUMP && CHOOK__ICPT_CALL == ICPT_CALL &&
                   CHOOK__ICPT_SKIP == ICPT_SKIP_CALL && CHOOK__ICPT_ACTION_MASK == ICPT_ACTION_MASK,
               "actions");
_Static_assert(CHOOK__ICPT_WINDOWS == ICPT_WINDOWS, "ICPT_WINDOWS");
_Static_assert(sizeof(struct chook__islot) == 16, "slots are 16 bytes");
