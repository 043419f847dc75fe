/* The interpreter's loops over every entry of an activation (see eqnn_kernels.h):
 * relu, a bias added to every row, a bias's gradient (the column sums), mean
 * pooling and a convolution's neighbourhoods, in C so that they are branch-free and vectorized (Swift compiles for SSE2,
 * with bounds checks on arrays). Swift's relu compiled
 * to a compare and branch per entry, which mispredicts on half the entries. */
#include "eqnn_kernels.h"

#define DEFINE_ELEMENTWISE(T, S)                                                                                    \
    void eqnn_relu_##S(T *x, ptrdiff_t n) {                                                                         \
        for (ptrdiff_t i = 0; i < n; ++i) x[i] = x[i] < 0 ? (T)0 : x[i]; /* NaN stays NaN */                        \
    }                                                                                                               \
    void eqnn_relu_backward_##S(const T *restrict y, T *restrict dy, ptrdiff_t n) {                                 \
        for (ptrdiff_t i = 0; i < n; ++i) {                                                                         \
            T d = dy[i]; /* read unconditionally, so that the select vectorizes */                                  \
            dy[i] = y[i] > 0 ? d : (T)0;                                                                            \
        }                                                                                                           \
    }                                                                                                               \
    void eqnn_add_rows_##S(T *x, const T *bias, ptrdiff_t rows, ptrdiff_t d) {                                      \
        for (ptrdiff_t r = 0; r < rows; ++r, x += d)                                                                \
            for (ptrdiff_t c = 0; c < d; ++c) x[c] += bias[c];                                                      \
    }                                                                                                               \
    void eqnn_column_sums_##S(const T *x, ptrdiff_t rows, ptrdiff_t d, double *sums) {                             \
        /* Blocks of rows summed in T, each block's sum added in double. */                                         \
        enum { BLOCK = 64, WIDE = 256 };                                                                            \
        T partial[WIDE];                                                                                            \
        for (ptrdiff_t c0 = 0; c0 < d; c0 += WIDE) {                                                                \
            ptrdiff_t w = d - c0 < WIDE ? d - c0 : WIDE;                                                            \
            for (ptrdiff_t r0 = 0; r0 < rows; r0 += BLOCK) {                                                        \
                ptrdiff_t end = rows - r0 < BLOCK ? rows : r0 + BLOCK;                                              \
                for (ptrdiff_t c = 0; c < w; ++c) partial[c] = 0;                                                   \
                for (ptrdiff_t r = r0; r < end; ++r)                                                                \
                    for (ptrdiff_t c = 0; c < w; ++c) partial[c] += x[r * d + c0 + c];                              \
                for (ptrdiff_t c = 0; c < w; ++c) sums[c0 + c] += partial[c];                                       \
            }                                                                                                       \
        }                                                                                                           \
    }

/* Mean pooling of one sample: row r of x (d entries) weighted into row target[r] of y; and
   its backward, each row of dx the weighted row of dy it was pooled into. */
#define DEFINE_POOLING(T, S)                                                                                        \
    void eqnn_pool_rows_##S(const T *restrict x, ptrdiff_t rows, ptrdiff_t d, const ptrdiff_t *target, T share,     \
                            T *restrict y) {                                                                        \
        for (ptrdiff_t r = 0; r < rows; ++r) {                                                                      \
            const T *in = x + r * d;                                                                                \
            T *out = y + target[r] * d;                                                                             \
            for (ptrdiff_t c = 0; c < d; ++c) out[c] += share * in[c];                                              \
        }                                                                                                           \
    }                                                                                                               \
    void eqnn_unpool_rows_##S(const T *restrict dy, ptrdiff_t rows, ptrdiff_t d, const ptrdiff_t *target, T share,  \
                              T *restrict dx) {                                                                     \
        for (ptrdiff_t r = 0; r < rows; ++r) {                                                                      \
            const T *in = dy + target[r] * d;                                                                       \
            T *out = dx + r * d;                                                                                    \
            for (ptrdiff_t c = 0; c < d; ++c) out[c] = share * in[c];                                               \
        }                                                                                                           \
    }

/* A convolution's neighbourhoods, offset-major: for rows first .. first + count - 1 (row =
   sample * positions + position), columns[t][o][0..channels) = the channels of the neighbour
   table[position * offsets + o] of the same sample, zeros where it is -1 (outside the grid);
   and the adjoint, each neighbourhood's gradient added back onto its neighbours. The copies
   are short (one channel in a first layer): loops, never calls to memcpy and memset. */
#if defined(__clang__)
#define NO_LIBRARY_CALLS __attribute__((no_builtin("memcpy", "memset")))
#else
#define NO_LIBRARY_CALLS __attribute__((optimize("no-tree-loop-distribute-patterns")))
#endif
#define DEFINE_NEIGHBOURHOODS(T, S)                                                                                 \
    NO_LIBRARY_CALLS void eqnn_gather_##S(const T *restrict x, ptrdiff_t channels, const ptrdiff_t *table, ptrdiff_t offsets,        \
                         ptrdiff_t positions, ptrdiff_t first, ptrdiff_t count, T *restrict columns) {              \
        for (ptrdiff_t t = 0; t < count; ++t) {                                                                     \
            ptrdiff_t row = first + t, sample = row / positions, position = row - sample * positions;               \
            const T *base = x + sample * positions * channels;                                                      \
            const ptrdiff_t *neighbours = table + position * offsets;                                               \
            T *out = columns + t * offsets * channels;                                                              \
            if (channels == 1) { /* a first layer's one channel: a select per neighbour */                          \
                for (ptrdiff_t o = 0; o < offsets; ++o) {                                                           \
                    ptrdiff_t q = neighbours[o];                                                                    \
                    T v = base[q < 0 ? 0 : q]; /* read unconditionally, so that the select needs no branch */      \
                    out[o] = q < 0 ? (T)0 : v;                                                                      \
                }                                                                                                   \
                continue;                                                                                           \
            }                                                                                                       \
            for (ptrdiff_t o = 0; o < offsets; ++o, out += channels) {                                              \
                ptrdiff_t q = neighbours[o];                                                                        \
                if (q < 0) {                                                                                        \
                    for (ptrdiff_t c = 0; c < channels; ++c) out[c] = 0;                                            \
                } else {                                                                                            \
                    const T *in = base + q * channels;                                                              \
                    for (ptrdiff_t c = 0; c < channels; ++c) out[c] = in[c];                                        \
                }                                                                                                   \
            }                                                                                                       \
        }                                                                                                           \
    }                                                                                                               \
    void eqnn_scatter_##S(const T *restrict columns, ptrdiff_t channels, const ptrdiff_t *table, ptrdiff_t offsets, \
                          ptrdiff_t positions, ptrdiff_t first, ptrdiff_t count, T *restrict dx) {                  \
        for (ptrdiff_t t = 0; t < count; ++t) {                                                                     \
            ptrdiff_t row = first + t, sample = row / positions, position = row - sample * positions;               \
            T *base = dx + sample * positions * channels;                                                           \
            const ptrdiff_t *neighbours = table + position * offsets;                                               \
            const T *in = columns + t * offsets * channels;                                                         \
            for (ptrdiff_t o = 0; o < offsets; ++o, in += channels) {                                               \
                ptrdiff_t q = neighbours[o];                                                                        \
                if (q < 0) continue;                                                                                \
                T *out = base + q * channels;                                                                       \
                for (ptrdiff_t c = 0; c < channels; ++c) out[c] += in[c];                                           \
            }                                                                                                       \
        }                                                                                                           \
    }

DEFINE_ELEMENTWISE(float, s)
DEFINE_ELEMENTWISE(double, d)
DEFINE_POOLING(float, s)
DEFINE_POOLING(double, d)
DEFINE_NEIGHBOURHOODS(float, s)
DEFINE_NEIGHBOURHOODS(double, d)
