/*
 * A small -O2 program whose callers rely on GCC's -fipa-ra: each caller keeps
 * values in call-clobbered registers (argument registers, r10/r11, xmm
 * registers) across calls of a local callee that GCC knows does not touch
 * them. Compiled with -O2 -fipa-ra (tests/intercept_frames.cmake). The callees
 * are exported through ipa_*_addr() so a test can hook them; the callers'
 * results must be the same hooked and unhooked.
 *
 * The callers are generated from one pattern (IPA_CALLER) over several mixes of
 * live integer and floating values, so that the register allocator spreads the
 * live values over different registers in each.
 */
#define NOINLINE __attribute__((noinline, noclone))

NOINLINE static long ipa_leaf(long x) { return x * 3 + 1; }
NOINLINE static double ipa_fleaf(double x) { return x * 0.5 + 1.0; }

/* A caller with N integer and M floating values live across each call. */
#define IPA_CALLER(NAME, CALLEE, T)                                                        \
    NOINLINE long NAME(long a, long b, long c, long d, long e, long f, double g, double h,  \
                       double k, double m)                                                 \
    {                                                                                      \
        long s = 0;                                                                        \
        double t = 0;                                                                      \
        for (long i = 0; i < 16; i++) {                                                    \
            s += (long)CALLEE((T)(a + i));                                                 \
            s ^= b * i + c;                                                                \
            s += d - e + f * i;                                                            \
            t += g * (double)i + h;                                                        \
            t -= k * m;                                                                    \
        }                                                                                  \
        return s + (long)t;                                                                \
    }

IPA_CALLER(ipa_int_caller, ipa_leaf, long)
IPA_CALLER(ipa_fp_caller, ipa_fleaf, double)

/* Many values live at once: more than the argument registers hold. */
NOINLINE long ipa_wide_caller(const long *v)
{
    long a = v[0], b = v[1], c = v[2], d = v[3], e = v[4], f = v[5], g = v[6], h = v[7];
    long s = 0;
    for (long i = 0; i < 8; i++) {
        s += ipa_leaf(i);
        s += a * 1 + b * 2 + c * 3 + d * 4 + e * 5 + f * 6 + g * 7 + h * 8;
        a ^= s; b += a; c -= b; d ^= c; e += d; f -= e; g ^= f; h += g;
    }
    return s;
}

void *ipa_leaf_addr(void) { return (void *)ipa_leaf; }
void *ipa_fleaf_addr(void) { return (void *)ipa_fleaf; }
