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

/* Lets freed blocks of up to 32 MB stay in the process for reuse (glibc; elsewhere nothing). */
void eqnn_keep_freed_memory(void);
#endif
