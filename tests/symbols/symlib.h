/* Functions of the symbol-test libraries (tests/symbols/). */
#ifndef CHOOK_TEST_SYMLIB_H
#define CHOOK_TEST_SYMLIB_H

int symlocal_call_local(int x);
int symlocal_call_dup(int x);
int symstripped_call_local(int x);
int symdebuglink_call_local(int x);
int sym_shared_target(int x);
int symimp_lazy_call(int x);
int (*symimp_lazy_pointer(void))(int);
int symimp_now_call(int x);
int (*symimp_now_pointer(void))(int);
int sym_pending_value(void);
extern int sym_pending_ctor_seen;

#endif
