/*
 * Not part of phc-winner-argon2: the project's glue (see README.md), CC0 like the code it joins.
 *
 * core.c calls fill_segment(), the memory-hard inner loop that opt.c (SIMD) and ref.c (portable C)
 * each define. With IDP_ARGON2_DISPATCH (x86-64, GCC or Clang), setup.py compiles opt.c once per
 * instruction set below with fill_segment renamed to idp_fill_segment_<name>, and this file picks the
 * best one the CPU and the OS support when the library is loaded, as libsodium does (libgcc's
 * __builtin_cpu_supports checks XGETBV too: AVX state saved by the OS). Every variant computes the
 * same bytes. Without IDP_ARGON2_DISPATCH, ref.c's fill_segment is linked in and there is one variant.
 */
#include "argon2.h"
#include "core.h"

#if defined(IDP_ARGON2_DISPATCH)

typedef void (*fill_segment_fn)(const argon2_instance_t *instance, argon2_position_t position);

void idp_fill_segment_sse2(const argon2_instance_t *instance, argon2_position_t position);
void idp_fill_segment_ssse3(const argon2_instance_t *instance, argon2_position_t position);
void idp_fill_segment_avx2(const argon2_instance_t *instance, argon2_position_t position);
void idp_fill_segment_avx512f(const argon2_instance_t *instance, argon2_position_t position);

static const struct {
    const char *name;
    fill_segment_fn fill;
} variants[] = {
    {"SSE2", idp_fill_segment_sse2},
    {"SSSE3", idp_fill_segment_ssse3},
    {"AVX2", idp_fill_segment_avx2},
    {"AVX-512F", idp_fill_segment_avx512f},
};

static int chosen = 0;

static int best_supported(void) {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return 3;
    if (__builtin_cpu_supports("avx2")) return 2;
    if (__builtin_cpu_supports("ssse3")) return 1;
    return 0; /* SSE2: part of x86-64 itself */
}

/* Use variant `level` (0 SSE2 .. 3 AVX-512F), or the best supported one when `level` is negative or
 * beyond what this CPU runs; returns the level now in use. Called once when the library is loaded;
 * later calls (tests, bench/argon2.py) must not overlap a hash. */
ARGON2_PUBLIC int idp_argon2_select(int level) {
    int best = best_supported();
    chosen = (level < 0 || level > best) ? best : level;
    return chosen;
}

ARGON2_PUBLIC const char *idp_argon2_variant(void) { return variants[chosen].name; }

__attribute__((constructor)) static void choose_at_load(void) { idp_argon2_select(-1); }

void fill_segment(const argon2_instance_t *instance, argon2_position_t position) {
    variants[chosen].fill(instance, position);
}

#else

ARGON2_PUBLIC int idp_argon2_select(int level) {
    (void)level;
    return 0;
}

ARGON2_PUBLIC const char *idp_argon2_variant(void) { return "portable C"; }

#endif
