/* The interpreter's matrix product, in C so that it can use the vector units the
 * machine has (AVX-512, AVX2 with FMA), chosen at run time: Swift compiles for
 * baseline x86-64 (SSE2) and cannot target an instruction set per function.
 *
 * C[i, j] += sum_p A[i, p] B[p, j] for i < m, j < n, p < k. A is read through any
 * strides (A[i, p] = a[i * rsa + p * csa], so A^T costs nothing); B and C have
 * contiguous rows with leading dimensions ldb and ldc. */
#ifndef EQNN_KERNELS_H
#define EQNN_KERNELS_H
#include <stddef.h>

/* Instruction sets of the kernels, best last. */
enum eqnn_isa { EQNN_ISA_GENERIC = 0, EQNN_ISA_AVX2 = 1, EQNN_ISA_AVX512 = 2 };

/* The best instruction set this machine (processor and operating system) supports. */
int eqnn_best_isa(void);
/* The name of an instruction set ("generic", "avx2", "avx512"). */
const char *eqnn_isa_name(int isa);

/* The product with the best kernel. */
void eqnn_sgemm(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const float *a, ptrdiff_t rsa, ptrdiff_t csa,
                const float *b, ptrdiff_t ldb, float *c, ptrdiff_t ldc);
void eqnn_dgemm(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const double *a, ptrdiff_t rsa, ptrdiff_t csa,
                const double *b, ptrdiff_t ldb, double *c, ptrdiff_t ldc);

/* The product with the kernel of `isa` (for tests; an isa the machine lacks runs the best one it has). */
void eqnn_sgemm_isa(int isa, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const float *a, ptrdiff_t rsa, ptrdiff_t csa,
                    const float *b, ptrdiff_t ldb, float *c, ptrdiff_t ldc);
void eqnn_dgemm_isa(int isa, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const double *a, ptrdiff_t rsa, ptrdiff_t csa,
                    const double *b, ptrdiff_t ldb, double *c, ptrdiff_t ldc);

/* Loops over activations (elementwise.c), _s for float and _d for double:
 * x = max(x, 0) keeping NaN; dy = 0 where y <= 0 (relu's backward from its output);
 * bias added to each of `rows` rows of d entries; sums[c] += sum over rows of x[r, c]. */
void eqnn_relu_s(float *x, ptrdiff_t n);
void eqnn_relu_d(double *x, ptrdiff_t n);
void eqnn_relu_backward_s(const float *y, float *dy, ptrdiff_t n);
void eqnn_relu_backward_d(const double *y, double *dy, ptrdiff_t n);
void eqnn_add_rows_s(float *x, const float *bias, ptrdiff_t rows, ptrdiff_t d);
void eqnn_add_rows_d(double *x, const double *bias, ptrdiff_t rows, ptrdiff_t d);
void eqnn_column_sums_s(const float *x, ptrdiff_t rows, ptrdiff_t d, double *sums);
void eqnn_column_sums_d(const double *x, ptrdiff_t rows, ptrdiff_t d, double *sums);
/* Mean pooling of one sample: y[target[r]] += share x[r] for each of `rows` rows of d entries;
 * its backward: dx[r] = share dy[target[r]]. */
void eqnn_pool_rows_s(const float *x, ptrdiff_t rows, ptrdiff_t d, const ptrdiff_t *target, float share, float *y);
void eqnn_pool_rows_d(const double *x, ptrdiff_t rows, ptrdiff_t d, const ptrdiff_t *target, double share, double *y);
void eqnn_unpool_rows_s(const float *dy, ptrdiff_t rows, ptrdiff_t d, const ptrdiff_t *target, float share, float *dx);
void eqnn_unpool_rows_d(const double *dy, ptrdiff_t rows, ptrdiff_t d, const ptrdiff_t *target, double share, double *dx);
/* A convolution's neighbourhoods, offset-major, of rows first .. first + count - 1 of samples of
 * `positions` positions: table[position * offsets + o] is the neighbour at offset o, -1 outside
 * (zeros); scatter adds each neighbourhood's gradient back onto dx. */
void eqnn_gather_s(const float *x, ptrdiff_t channels, const ptrdiff_t *table, ptrdiff_t offsets, ptrdiff_t positions,
                   ptrdiff_t first, ptrdiff_t count, float *columns);
void eqnn_gather_d(const double *x, ptrdiff_t channels, const ptrdiff_t *table, ptrdiff_t offsets, ptrdiff_t positions,
                   ptrdiff_t first, ptrdiff_t count, double *columns);
void eqnn_scatter_s(const float *columns, ptrdiff_t channels, const ptrdiff_t *table, ptrdiff_t offsets, ptrdiff_t positions,
                    ptrdiff_t first, ptrdiff_t count, float *dx);
void eqnn_scatter_d(const double *columns, ptrdiff_t channels, const ptrdiff_t *table, ptrdiff_t offsets, ptrdiff_t positions,
                    ptrdiff_t first, ptrdiff_t count, double *dx);

/* Lets freed blocks of up to 32 MB stay in the process for reuse (glibc; elsewhere nothing). */
void eqnn_keep_freed_memory(void);
#endif
