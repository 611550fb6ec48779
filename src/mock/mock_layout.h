/*
 * Offsets shared by src/mock.c and the mock entry stub (src/arch/<arch>/mock_entry.S).
 * mock.c checks each against the structures it describes.
 */
#ifndef CHOOK_MOCK_LAYOUT_H
#define CHOOK_MOCK_LAYOUT_H

/* struct chook_mock (src/mock.c): its first fields. */
#define MOCK_OFF_REPLACEMENT 0  /* void *: the user's replacement */
#define MOCK_OFF_THREAD 8       /* uintptr_t: thread pointer of the owner, 0 = every thread */
#define MOCK_OFF_CALLS 16       /* uint64_t: calls seen */
#define MOCK_OFF_ANSWERED 24    /* uint64_t: calls a sequence answers (UINT64_MAX: all) */
#define MOCK_OFF_CAPTURE 32     /* struct mock_capture *: a sequence's ring of calls */
#define MOCK_OFF_CAPTURE_MASK 40 /* uint64_t: ring entries - 1 (a power of two - 1) */
#define MOCK_OFF_FLAGS 48       /* uint32_t: chook_mock_opts.flags */
#define MOCK_FLAG_CLOSURE 2     /* CHOOK_MOCK_CLOSURE */

/* struct mock_capture: seq (call number + 1, written last), then the six integer
 * argument registers, padded to 64 bytes. */
#define MOCK_CAPTURE_SHIFT 6
#define MOCK_CAPTURE_OFF_ARGS 8

/* chook_closure (chook.h). */
#define CLOSURE_OFF_ORIGINAL 8
#define CLOSURE_OFF_DATA 16

/* chook__thread_state (chook.h): the closure ring that chook_current() pops. */
#define TLS_OFF_RING_POS 0
#define TLS_OFF_RING 16
#define TLS_RING_MASK ((16 - 1) * 8) /* (CHOOK__CLOSURE_RING - 1) * sizeof(void *) */

#endif /* CHOOK_MOCK_LAYOUT_H */
