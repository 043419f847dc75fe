/* The interpreter's matrix product (see eqnn_kernels.h), organized as BLIS
 * organizes its products: B is packed in panels of NR columns and depth KC, and an
 * MR x NR tile of C stays in vector registers while a micro-kernel runs down the
 * depth, reading MR rows of A in place (only the last rows of a block, fewer than MR,
 * are packed, with zeros). Each kernel is one macro instantiated per
 * instruction set and precision, compiled for that instruction set with a target
 * attribute; the best one the machine supports is chosen at run time. */
#include "eqnn_kernels.h"
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#define EQNN_X86 1
#define AVX2_TARGET __attribute__((target("avx2,fma")))
#define AVX512_TARGET __attribute__((target("avx512f")))
#else
#define EQNN_X86 0
#endif

/* The tile's rows must be unrolled for the tile to live in registers. */
#define UNROLLED _Pragma("GCC unroll 32")

enum {
    KC = 256, /* depth of a block: an NR-column panel of B stays in the L1 cache */
    MC = 96,  /* rows of a block of A (a multiple of every MR): it stays in the L2 cache */
};

/* Small products are not worth packing. */
static int worth_packing(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k) { return m * n * k >= 4096 && m >= 4; }

/* Whether panels of nr / 2 columns pay: panels of nr would waste more than an eighth of their work (n = 48, nr = 32). */
static int narrow_panels_pay(ptrdiff_t n, ptrdiff_t nr) {
    ptrdiff_t wide = (n + nr - 1) / nr * nr, narrow = (n + nr / 2 - 1) / (nr / 2) * (nr / 2);
    return (wide - narrow) * 8 > narrow;
}

/* C += A B entry by entry: small products, and the fallback when packing memory is missing. */
#define DEFINE_SIMPLE(T, NAME)                                                                                \
    static void NAME(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const T *a, ptrdiff_t rsa, ptrdiff_t csa,        \
                     const T *b, ptrdiff_t ldb, T *c, ptrdiff_t ldc) {                                         \
        for (ptrdiff_t i = 0; i < m; ++i)                                                                      \
            for (ptrdiff_t p = 0; p < k; ++p) {                                                                \
                T aip = a[i * rsa + p * csa];                                                                  \
                for (ptrdiff_t j = 0; j < n; ++j) c[i * ldc + j] += aip * b[p * ldb + j];                     \
            }                                                                                                  \
    }

/* A[i0.., p0..] (mc x kc) into panels of MR rows, each kc x MR, zero rows past mc. */
#define DEFINE_PACK_A(T, NAME)                                                                                \
    static void NAME(T *dst, const T *a, ptrdiff_t rsa, ptrdiff_t csa, ptrdiff_t mc, ptrdiff_t kc, int mr) {  \
        for (ptrdiff_t i0 = 0; i0 < mc; i0 += mr)                                                              \
            for (ptrdiff_t p = 0; p < kc; ++p)                                                                 \
                for (int i = 0; i < mr; ++i) *dst++ = i0 + i < mc ? a[(i0 + i) * rsa + p * csa] : (T)0;       \
    }

/* B[p0.., 0..n] (kc x n) into panels of NR columns, each kc x NR, zero columns past n. */
#define DEFINE_PACK_B(T, NAME)                                                                                \
    static void NAME(T *dst, const T *b, ptrdiff_t ldb, ptrdiff_t kc, ptrdiff_t n, int nr) {                   \
        for (ptrdiff_t j0 = 0; j0 < n; j0 += nr)                                                               \
            for (ptrdiff_t p = 0; p < kc; ++p)                                                                 \
                for (int j = 0; j < nr; ++j) *dst++ = j0 + j < n ? b[p * ldb + j0 + j] : (T)0;                \
    }

/* One MR x NR tile (NR = NV vectors of LANES): C[0..mr, 0..nr] += A B[panel], A's MR rows
   read in place through their strides (A[i, p] = a[i * rsa + p * csa]) and B's panel packed.
   Packing A as well would cost one scalar copy per entry, used once per panel of B: for the
   narrow products of convolutions (n = 32 to 96) as much as a third of the work, while the
   tile's rows read in place stay in the caches as a packed panel does (measured: 21 -> 42
   GMAC/s at n = 32, 40 -> 54 at n = 96). The last rows of a block (mr < MR) come packed
   with zero rows (rsa = 1, csa = MR), so that every tile reads MR rows. */
#define DEFINE_MICRO_KERNEL(ATTR, T, V, LANES, NV, MR, NAME)                                                  \
    ATTR static void NAME(ptrdiff_t kc, const T *a, ptrdiff_t rsa, ptrdiff_t csa, const T *bp, T *c,          \
                          ptrdiff_t ldc, int mr, int nr) {                                                     \
        V acc[MR][NV];                                                                                         \
        UNROLLED for (int i = 0; i < MR; ++i) UNROLLED for (int v = 0; v < NV; ++v) acc[i][v] = (V){0};        \
        for (ptrdiff_t p = 0; p < kc; ++p) {                                                                   \
            V b[NV];                                                                                           \
            const T *ap = a + p * csa;                                                                         \
            UNROLLED for (int v = 0; v < NV; ++v) memcpy(&b[v], bp + v * LANES, sizeof b[v]);                  \
            UNROLLED for (int i = 0; i < MR; ++i) UNROLLED for (int v = 0; v < NV; ++v) acc[i][v] += ap[i * rsa] * b[v]; \
            bp += NV * LANES;                                                                                  \
        }                                                                                                      \
        if (mr == MR && nr == NV * LANES) {                                                                    \
            UNROLLED for (int i = 0; i < MR; ++i) UNROLLED for (int v = 0; v < NV; ++v) {                      \
                V old;                                                                                         \
                memcpy(&old, c + i * ldc + v * LANES, sizeof old);                                             \
                old += acc[i][v];                                                                              \
                memcpy(c + i * ldc + v * LANES, &old, sizeof old);                                             \
            }                                                                                                  \
        } else {                                                                                               \
            T tile[NV * LANES];                                                                                \
            for (int i = 0; i < mr; ++i) {                                                                     \
                memcpy(tile, acc[i], sizeof acc[i]);                                                           \
                for (int j = 0; j < nr; ++j) c[i * ldc + j] += tile[j];                                        \
            }                                                                                                  \
        }                                                                                                      \
    }

/* The blocked product around one micro-kernel; returns 0 when packing memory is missing. */
#define DEFINE_BLOCKED(ATTR, T, MR, NR, KERNEL, PACK_A, PACK_B, NAME)                                         \
    ATTR static int NAME(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const T *a, ptrdiff_t rsa, ptrdiff_t csa,     \
                         const T *b, ptrdiff_t ldb, T *c, ptrdiff_t ldc) {                                     \
        ptrdiff_t panels = (n + NR - 1) / NR;                                                                  \
        T *bpack = malloc(sizeof(T) * KC * NR * panels), *apack = malloc(sizeof(T) * KC * MR);                 \
        if (!bpack || !apack) {                                                                                \
            free(bpack);                                                                                       \
            free(apack);                                                                                       \
            return 0;                                                                                          \
        }                                                                                                      \
        for (ptrdiff_t p0 = 0; p0 < k; p0 += KC) {                                                             \
            ptrdiff_t kc = k - p0 < KC ? k - p0 : KC;                                                          \
            PACK_B(bpack, b + p0 * ldb, ldb, kc, n, NR);                                                       \
            for (ptrdiff_t i0 = 0; i0 < m; i0 += MC) {                                                         \
                ptrdiff_t mc = m - i0 < MC ? m - i0 : MC;                                                      \
                /* Full tiles of rows read in place; the last rows (fewer than MR) packed with zeros. */      \
                ptrdiff_t direct = mc / MR * MR, i1 = i0 + direct;                                             \
                for (ptrdiff_t jp = 0; jp < panels && direct > 0; ++jp) {                                      \
                    int nr = (int)(n - jp * NR < NR ? n - jp * NR : NR);                                       \
                    for (ptrdiff_t t = 0; t < direct; t += MR)                                                 \
                        KERNEL(kc, a + (i0 + t) * rsa + p0 * csa, rsa, csa, bpack + jp * NR * kc,              \
                               c + (i0 + t) * ldc + jp * NR, ldc, MR, nr);                                     \
                }                                                                                              \
                mc -= direct;                                                                                  \
                if (mc == 0) continue;                                                                         \
                PACK_A(apack, a + i1 * rsa + p0 * csa, rsa, csa, mc, kc, MR);                                  \
                for (ptrdiff_t jp = 0; jp < panels; ++jp) {                                                    \
                    int nr = (int)(n - jp * NR < NR ? n - jp * NR : NR);                                       \
                    KERNEL(kc, apack, 1, MR, bpack + jp * NR * kc, c + i1 * ldc + jp * NR, ldc, (int)mc, nr);  \
                }                                                                                              \
            }                                                                                                  \
        }                                                                                                      \
        free(bpack);                                                                                           \
        free(apack);                                                                                           \
        return 1;                                                                                              \
    }

/* Products with at most DOTS columns and a long depth (a pair basis B (J x entries) times
   the gradient's few copy pairs): as dot products of A's rows, each read once, with B's
   columns copied contiguous. The tiles of the blocked product would pad 2 columns to 16
   or 32 (a fifth of a D16 network's training step). Needs csa = 1. */
enum { DOTS = 4 };
static int worth_dots(ptrdiff_t n, ptrdiff_t k, ptrdiff_t csa) { return n <= DOTS && k >= 256 && csa == 1; }

#define DEFINE_DOTS(ATTR, T, V, LANES, NAME)                                                                  \
    ATTR static int NAME(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const T *a, ptrdiff_t rsa, const T *b,       \
                         ptrdiff_t ldb, T *c, ptrdiff_t ldc) {                                                 \
        T *bt = malloc(sizeof(T) * DOTS * k);                                                                  \
        if (!bt) return 0;                                                                                     \
        for (ptrdiff_t p = 0; p < k; ++p)                                                                      \
            for (int j = 0; j < DOTS; ++j) bt[j * k + p] = j < n ? b[p * ldb + j] : (T)0;                      \
        ptrdiff_t kv = k / (2 * LANES) * (2 * LANES);                                                          \
        for (ptrdiff_t i = 0; i < m; ++i) {                                                                    \
            const T *ai = a + i * rsa;                                                                         \
            V acc[DOTS][2];                                                                                    \
            UNROLLED for (int j = 0; j < DOTS; ++j) acc[j][0] = acc[j][1] = (V){0};                            \
            for (ptrdiff_t p = 0; p < kv; p += 2 * LANES) {                                                    \
                V x0, x1;                                                                                      \
                memcpy(&x0, ai + p, sizeof x0);                                                                \
                memcpy(&x1, ai + p + LANES, sizeof x1);                                                        \
                UNROLLED for (int j = 0; j < DOTS; ++j) {                                                      \
                    V y0, y1;                                                                                  \
                    memcpy(&y0, bt + j * k + p, sizeof y0);                                                    \
                    memcpy(&y1, bt + j * k + p + LANES, sizeof y1);                                            \
                    acc[j][0] += x0 * y0;                                                                      \
                    acc[j][1] += x1 * y1;                                                                      \
                }                                                                                              \
            }                                                                                                  \
            for (int j = 0; j < n; ++j) {                                                                      \
                T lanes[LANES], sum = 0;                                                                       \
                V total = acc[j][0] + acc[j][1];                                                               \
                memcpy(lanes, &total, sizeof lanes);                                                           \
                for (int l = 0; l < LANES; ++l) sum += lanes[l];                                               \
                for (ptrdiff_t p = kv; p < k; ++p) sum += ai[p] * bt[j * k + p];                               \
                c[i * ldc + j] += sum;                                                                         \
            }                                                                                                  \
        }                                                                                                      \
        free(bt);                                                                                              \
        return 1;                                                                                              \
    }

/* Products of a few rows and a wide B (a few copy pairs' coefficients times a pair basis, J x
   entries): B read once, row by row, into the rows of C (which stay in the cache). The
   blocked product would first copy all of B into panels, for one use. */
enum { FEW_ROWS = 8 };
static int worth_rows(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k) { return m < FEW_ROWS && n >= 256 && n * k >= 4096; }

#define DEFINE_ROWS(ATTR, T, V, LANES, NAME)                                                                  \
    ATTR static void NAME(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const T *a, ptrdiff_t rsa, ptrdiff_t csa,   \
                          const T *b, ptrdiff_t ldb, T *c, ptrdiff_t ldc) {                                    \
        ptrdiff_t nv = n / LANES * LANES;                                                                      \
        for (ptrdiff_t p = 0; p < k; ++p) {                                                                    \
            const T *bp = b + p * ldb;                                                                         \
            for (ptrdiff_t i = 0; i < m; ++i) {                                                                \
                T aip = a[i * rsa + p * csa];                                                                  \
                T *ci = c + i * ldc;                                                                           \
                V broadcast = aip - (V){0};                                                                    \
                for (ptrdiff_t j = 0; j < nv; j += LANES) {                                                    \
                    V x, y;                                                                                    \
                    memcpy(&x, bp + j, sizeof x);                                                              \
                    memcpy(&y, ci + j, sizeof y);                                                              \
                    y += broadcast * x;                                                                        \
                    memcpy(ci + j, &y, sizeof y);                                                              \
                }                                                                                              \
                for (ptrdiff_t j = nv; j < n; ++j) ci[j] += aip * bp[j];                                       \
            }                                                                                                  \
        }                                                                                                      \
    }

DEFINE_SIMPLE(float, simple_s)
DEFINE_SIMPLE(double, simple_d)
DEFINE_PACK_A(float, pack_a_s)
DEFINE_PACK_A(double, pack_a_d)
DEFINE_PACK_B(float, pack_b_s)
DEFINE_PACK_B(double, pack_b_d)

/* Generic: 16-byte vectors (SSE2 on x86-64, NEON on arm64), 4 x 2 vectors. */
typedef float generic_vs __attribute__((vector_size(16)));
typedef double generic_vd __attribute__((vector_size(16)));
#define NO_TARGET
DEFINE_MICRO_KERNEL(NO_TARGET, float, generic_vs, 4, 2, 4, kernel_generic_s)
DEFINE_MICRO_KERNEL(NO_TARGET, double, generic_vd, 2, 2, 4, kernel_generic_d)
DEFINE_BLOCKED(NO_TARGET, float, 4, 8, kernel_generic_s, pack_a_s, pack_b_s, blocked_generic_s)
DEFINE_BLOCKED(NO_TARGET, double, 4, 4, kernel_generic_d, pack_a_d, pack_b_d, blocked_generic_d)
DEFINE_DOTS(NO_TARGET, float, generic_vs, 4, dots_generic_s)
DEFINE_DOTS(NO_TARGET, double, generic_vd, 2, dots_generic_d)
DEFINE_ROWS(NO_TARGET, float, generic_vs, 4, rows_generic_s)
DEFINE_ROWS(NO_TARGET, double, generic_vd, 2, rows_generic_d)

#if EQNN_X86
/* AVX2 with FMA: 16 ymm registers hold a 6 x 2 tile, two B vectors and a broadcast. */
typedef float avx2_vs __attribute__((vector_size(32)));
typedef double avx2_vd __attribute__((vector_size(32)));
DEFINE_MICRO_KERNEL(AVX2_TARGET, float, avx2_vs, 8, 2, 6, kernel_avx2_s)
DEFINE_MICRO_KERNEL(AVX2_TARGET, double, avx2_vd, 4, 2, 6, kernel_avx2_d)
DEFINE_BLOCKED(AVX2_TARGET, float, 6, 16, kernel_avx2_s, pack_a_s, pack_b_s, blocked_avx2_s)
DEFINE_BLOCKED(AVX2_TARGET, double, 6, 8, kernel_avx2_d, pack_a_d, pack_b_d, blocked_avx2_d)
DEFINE_DOTS(AVX2_TARGET, float, avx2_vs, 8, dots_avx2_s)
DEFINE_DOTS(AVX2_TARGET, double, avx2_vd, 4, dots_avx2_d)
DEFINE_ROWS(AVX2_TARGET, float, avx2_vs, 8, rows_avx2_s)
DEFINE_ROWS(AVX2_TARGET, double, avx2_vd, 4, rows_avx2_d)

/* AVX-512: 32 zmm registers hold a 12 x 2 tile, two B vectors and a broadcast; or, where
   n mod 2 vectors would leave a half-empty last panel (n = 48: a quarter of the work
   wasted), a 24 x 1 tile. */
typedef float avx512_vs __attribute__((vector_size(64)));
typedef double avx512_vd __attribute__((vector_size(64)));
DEFINE_MICRO_KERNEL(AVX512_TARGET, float, avx512_vs, 16, 2, 12, kernel_avx512_s)
DEFINE_MICRO_KERNEL(AVX512_TARGET, double, avx512_vd, 8, 2, 12, kernel_avx512_d)
DEFINE_MICRO_KERNEL(AVX512_TARGET, float, avx512_vs, 16, 1, 24, kernel_avx512_narrow_s)
DEFINE_MICRO_KERNEL(AVX512_TARGET, double, avx512_vd, 8, 1, 24, kernel_avx512_narrow_d)
DEFINE_BLOCKED(AVX512_TARGET, float, 12, 32, kernel_avx512_s, pack_a_s, pack_b_s, blocked_avx512_s)
DEFINE_BLOCKED(AVX512_TARGET, double, 12, 16, kernel_avx512_d, pack_a_d, pack_b_d, blocked_avx512_d)
DEFINE_BLOCKED(AVX512_TARGET, float, 24, 16, kernel_avx512_narrow_s, pack_a_s, pack_b_s, blocked_avx512_narrow_s)
DEFINE_BLOCKED(AVX512_TARGET, double, 24, 8, kernel_avx512_narrow_d, pack_a_d, pack_b_d, blocked_avx512_narrow_d)
DEFINE_DOTS(AVX512_TARGET, float, avx512_vs, 16, dots_avx512_s)
DEFINE_DOTS(AVX512_TARGET, double, avx512_vd, 8, dots_avx512_d)
DEFINE_ROWS(AVX512_TARGET, float, avx512_vs, 16, rows_avx512_s)
DEFINE_ROWS(AVX512_TARGET, double, avx512_vd, 8, rows_avx512_d)
#endif

static int machine_isa(void) {
#if EQNN_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return EQNN_ISA_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return EQNN_ISA_AVX2;
#endif
    return EQNN_ISA_GENERIC;
}

/* The machine's best, lowered by EQNNC_KERNEL=generic|avx2 (for ablations); computed once. */
int eqnn_best_isa(void) {
    static int cached = -1;
    int isa = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (isa >= 0) return isa;
    isa = machine_isa();
    const char *requested = getenv("EQNNC_KERNEL");
    for (int lower = EQNN_ISA_GENERIC; requested && lower < isa; ++lower)
        if (strcmp(requested, eqnn_isa_name(lower)) == 0) isa = lower;
    __atomic_store_n(&cached, isa, __ATOMIC_RELAXED);
    return isa;
}

const char *eqnn_isa_name(int isa) {
    switch (isa) {
    case EQNN_ISA_AVX512: return "avx512";
    case EQNN_ISA_AVX2: return "avx2";
    default: return "generic";
    }
}

#if !EQNN_X86
/* Never chosen elsewhere (machine_isa is generic there); named so that one dispatch serves. */
#define blocked_avx2_s blocked_generic_s
#define blocked_avx2_d blocked_generic_d
#define blocked_avx512_s blocked_generic_s
#define blocked_avx512_d blocked_generic_d
#define blocked_avx512_narrow_s blocked_generic_s
#define blocked_avx512_narrow_d blocked_generic_d
#define dots_avx2_s dots_generic_s
#define dots_avx2_d dots_generic_d
#define dots_avx512_s dots_generic_s
#define dots_avx512_d dots_generic_d
#define rows_avx2_s rows_generic_s
#define rows_avx2_d rows_generic_d
#define rows_avx512_s rows_generic_s
#define rows_avx512_d rows_generic_d
#endif

/* The product of one precision with the kernel of `isa` (at most the machine's); WIDE: the
   AVX-512 tile's columns. */
#define DEFINE_DISPATCH(T, NAME, WIDE, SIMPLE, GENERIC, AVX2, AVX512, AVX512_NARROW, DOTS_GENERIC, DOTS_AVX2, DOTS_AVX512, \
                        ROWS_GENERIC, ROWS_AVX2, ROWS_AVX512)                                                  \
    void NAME(int isa, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const T *a, ptrdiff_t rsa, ptrdiff_t csa,      \
              const T *b, ptrdiff_t ldb, T *c, ptrdiff_t ldc) {                                                \
        if (m <= 0 || n <= 0 || k <= 0) return;                                                                \
        if (isa > machine_isa()) isa = machine_isa();                                                          \
        int done = 0;                                                                                          \
        if (worth_dots(n, k, csa)) switch (isa) {                                                              \
            case EQNN_ISA_AVX512: done = DOTS_AVX512(m, n, k, a, rsa, b, ldb, c, ldc); break;                  \
            case EQNN_ISA_AVX2: done = DOTS_AVX2(m, n, k, a, rsa, b, ldb, c, ldc); break;                      \
            default: done = DOTS_GENERIC(m, n, k, a, rsa, b, ldb, c, ldc); break;                              \
            }                                                                                                  \
        else if (worth_rows(m, n, k)) {                                                                        \
            switch (isa) {                                                                                     \
            case EQNN_ISA_AVX512: ROWS_AVX512(m, n, k, a, rsa, csa, b, ldb, c, ldc); break;                    \
            case EQNN_ISA_AVX2: ROWS_AVX2(m, n, k, a, rsa, csa, b, ldb, c, ldc); break;                        \
            default: ROWS_GENERIC(m, n, k, a, rsa, csa, b, ldb, c, ldc); break;                                \
            }                                                                                                  \
            done = 1;                                                                                          \
        } else if (worth_packing(m, n, k)) switch (isa) {                                                      \
            case EQNN_ISA_AVX512:                                                                              \
                done = narrow_panels_pay(n, WIDE) ? AVX512_NARROW(m, n, k, a, rsa, csa, b, ldb, c, ldc)        \
                                                  : AVX512(m, n, k, a, rsa, csa, b, ldb, c, ldc);              \
                break;                                                                                         \
            case EQNN_ISA_AVX2: done = AVX2(m, n, k, a, rsa, csa, b, ldb, c, ldc); break;                      \
            default: done = GENERIC(m, n, k, a, rsa, csa, b, ldb, c, ldc); break;                              \
            }                                                                                                  \
        if (!done) SIMPLE(m, n, k, a, rsa, csa, b, ldb, c, ldc);                                               \
    }

DEFINE_DISPATCH(float, eqnn_sgemm_isa, 32, simple_s, blocked_generic_s, blocked_avx2_s, blocked_avx512_s, blocked_avx512_narrow_s,
                dots_generic_s, dots_avx2_s, dots_avx512_s, rows_generic_s, rows_avx2_s, rows_avx512_s)
DEFINE_DISPATCH(double, eqnn_dgemm_isa, 16, simple_d, blocked_generic_d, blocked_avx2_d, blocked_avx512_d, blocked_avx512_narrow_d,
                dots_generic_d, dots_avx2_d, dots_avx512_d, rows_generic_d, rows_avx2_d, rows_avx512_d)

void eqnn_sgemm(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const float *a, ptrdiff_t rsa, ptrdiff_t csa,
                const float *b, ptrdiff_t ldb, float *c, ptrdiff_t ldc) {
    eqnn_sgemm_isa(eqnn_best_isa(), m, n, k, a, rsa, csa, b, ldb, c, ldc);
}

void eqnn_dgemm(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const double *a, ptrdiff_t rsa, ptrdiff_t csa,
                const double *b, ptrdiff_t ldb, double *c, ptrdiff_t ldc) {
    eqnn_dgemm_isa(eqnn_best_isa(), m, n, k, a, rsa, csa, b, ldb, c, ldc);
}
