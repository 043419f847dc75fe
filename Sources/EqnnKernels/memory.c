/* The interpreter allocates and frees arrays of megabytes at every training step
 * (activations, neighbourhoods, gradients). glibc maps blocks above its threshold
 * afresh and returns freed memory to the system, so every step page-faulted and
 * zeroed them again: a fifth of a training step on grids. */
#include "eqnn_kernels.h"
#include <stdlib.h> /* defines __GLIBC__ where glibc is the C library */
#if defined(__GLIBC__)
#include <malloc.h>
#endif

void eqnn_keep_freed_memory(void) {
#if defined(__GLIBC__)
    mallopt(M_MMAP_THRESHOLD, 32 << 20); /* glibc's maximum: blocks below come from the heap */
    mallopt(M_TRIM_THRESHOLD, 512 << 20); /* keep up to 512 MB of freed heap for the next step */
#endif
}
