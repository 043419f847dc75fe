/* Links the generated C of examples/center_of_mass.eqnn and runs it on a few
 * inputs, with the baked weights and with weights given at run time.
 * Build and run: make (see the Makefile). */
#include <stdio.h>

#include "center_of_mass.h"

int main(void) {
    /* 5 points in R^3, row by row: V(P) * V(E) is row-major, point-major. */
    const center_of_mass_real points[2][CENTER_OF_MASS_INPUT_DIM] = {
        {1, 0, 0, 0, 1, 0, 0, 0, 1, -1, 0, 0, 0, -1, 0},
        {1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3},
    };
    center_of_mass_real out[2][CENTER_OF_MASS_OUTPUT_DIM];
    /* One coefficient: the center of mass is theta * (sum of the points) / |basis|;
       theta = sqrt(15) / 5 turns it into the average. */
    const center_of_mass_real theta[CENTER_OF_MASS_PARAMETER_COUNT] = {0.7745966692414834f};
    center_of_mass_model model; /* caller-owned; no heap */
    int b;

    center_of_mass_forward(center_of_mass_baked(), &points[0][0], &out[0][0], 2);
    for (b = 0; b < 2; ++b) printf("baked weights:   (%g, %g, %g)\n", out[b][0], out[b][1], out[b][2]);

    center_of_mass_init(&model, theta, NULL);
    center_of_mass_forward(&model, &points[0][0], &out[0][0], 2);
    for (b = 0; b < 2; ++b) printf("average of rows: (%g, %g, %g)\n", out[b][0], out[b][1], out[b][2]);
    return 0;
}
