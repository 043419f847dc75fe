import EqnnSupport
/// Usage texts, one per command.
enum Help {
    static let main = """
    usage: eqnnc FILE [--format text|json]        check FILE (same as 'eqnnc check FILE')
           eqnnc check FILE [--format text|json] [--emit graph|c|pytorch|onnx -o OUT]
                                                  diagnostics, each network's parameter table, the graph IR,
                                                  standalone C, a PyTorch module
           eqnnc hom GROUP FROM TO [--basis]      explore Hom_G(FROM, TO): dimension and basis
           eqnnc train FILE --x X --y Y -o W      train on .npy/.csv data, write safetensors weights
           eqnnc run FILE --weights W --input X --output Y
           eqnnc evaluate FILE --weights W --x X --y Y
           eqnnc verify FILE [--weights W]        measure the equivariance error of the compiled network
           eqnnc data TASK --x X --y Y            generate a task: o5, inertia, lorentz, shapes, turned
           eqnnc time FILE                        interpreter throughput (forward and training)
           eqnnc help [COMMAND] | --help | --version

    Exit status: 0 without errors, 1 when the input has errors, 2 on bad usage.
    Run 'eqnnc help COMMAND' for details. Files with several networks take --network NAME.

    """

    static let check = """
    usage: eqnnc check FILE [--format text|json]

    Parses and type-checks FILE (.eqnn), prints every diagnostic as
    file:line:col: severity: message, and for each network that checks, a table:
    every layer's representation, dimension, equivariant weights next to the
    dense count, biases, and the totals.

      --format json   the same as JSON: networks[].layers[] with in_dim, out_dim,
                      weights, dense_weights, bias; diagnostics[] with severity,
                      line, column, message, notes, fixits
      --emit graph    write the graph IR of a network as JSON (docs/graph-ir.md)
                      to -o OUT, or to standard output; --network NAME picks one
      --emit c        write standalone C99 (NAME.h, NAME.c) to the folder -o DIR;
                      --weights W.safetensors bakes trained weights in (else a
                      seeded initialization, --seed S); --precision f32|f64;
                      --kernels dense expands every linear op (where it fits
                      4,194,304 weights) instead of following its plan
      --emit pytorch  write a PyTorch module (NAME.py: torch and the standard
                      library only) to the folder -o DIR; it loads and saves
                      eqnnc weights files (load_safetensors, save_safetensors)
      --emit onnx     write an ONNX model (NAME.onnx, float32, opset 13, inference
                      mode) to the folder -o DIR, weights baked in as for --emit c
                      (--weights W.safetensors, else a seeded initialization)
    A network on points (on points(d)): its C forward takes each sample's count,
    the positions and a workspace (NAME_workspace_bytes); its module's
    forward(x, positions, counts); --emit onnx does not take it yet.

    """

    static let hom = """
    usage: eqnnc hom GROUP FROM TO [--basis] [--format text|json]

    The space of equivariant linear maps Hom_GROUP(FROM, TO), solved exactly.
    Examples:
      eqnnc hom 'O(3)' 'V^2' 'V'
      eqnnc hom 'S(5) x O(3)' 'V(S(5))*V(O(3))' 'V(O(3))' --basis

      --basis         print a basis (integer matrices, TO rows by FROM columns)
      --format json   {"dim": N, "from_dim": ..., "to_dim": ..., "basis": [[[row, col, value], ...], ...]}

    """

    static let run = """
    usage: eqnnc run FILE --weights W.safetensors --input X.npy --output Y.npy [--network NAME]
           eqnnc run FILE --weights W --input X --positions P --counts N --output Y [--forces F]

    Runs the network on every row of X (.npy float32/float64, or .csv) and writes
    the outputs (float64 .npy, or .csv by extension). A network on a grid reads
    X as (samples, extents..., channels), any extents its pools divide, and
    writes (samples, pooled extents..., channels). A network on points reads
    every sample's points one after another: positions P (points, d), counts N
    (samples, 1) and features X (points, channels); Y has a row per sample
    when it pools its points, else a row per point. --forces writes minus the
    gradient of its one Scalar output (an energy) with respect to every
    position (points, d).

    """

    static let train = """
    usage: eqnnc train FILE --x X --y Y -o W.safetensors [--steps 2000 | --epochs N] [--batch B]
                      [--lr 3e-3] [--weight-decay 0] [--seed 0]
                      [--val-fraction 0.1 | --val-x VX --val-y VY]
                      [--positions P --counts N [--val-positions VP --val-counts VN]]
                      [--loss mse|cross-entropy] [--precision f32|f64] [--init data|random]
                      [--step-scale entry|coefficient] [--network NAME] [--quiet]

    Adam with a cosine learning-rate schedule (5% warmup), for about --steps
    optimizer steps (2000; at most 1000 epochs) or --epochs passes over X, in
    batches of B samples: 500, or on a grid about 16,384 positions' worth (64
    images of 16x16; 8 to 500). Inputs and outputs are standardized without
    breaking equivariance (scalars: mean and standard deviation; other
    summands: one scale each). Prints a line per epoch; keeps
    the weights with the best validation loss: on a --val-fraction of X held
    out, or on --val-x/--val-y (then all of X trains). Deterministic for a seed.
    Networks on points take the layout of 'run' (--positions, --counts), Y a
    row per sample or per point, and batches of 500 samples of any size.
    --init data (the default) starts from the seeded random draw calibrated on a
    batch of X: each layer's bias cancels the mean of its outputs where an
    invariant bias can, and the output layer is scaled down to at most unit
    variance; on rotations off the pixel lattice (C(8), SO(2), ...) the output
    layer starts at zero instead, predicting the targets' mean (cross-entropy:
    the classes' frequencies in Y), and the steerable kernels without their
    angular frequencies above 1; --init random keeps the random draw.
    --step-scale entry (the default) scales Adam's step of each coefficient so
    that every weight of the network moves alike: by the learning rate where
    no basis matrices overlap, as in a plain network, up to 3 times it where
    they do (a coefficient of a 5x5 C(8) or p4m kernel spans hundreds of
    weights, shared with the others of its block); coefficient: every
    coefficient by the learning rate.
    --weight-decay d shrinks the parameters by lr * d every step (AdamW).
    Forward and backward run in float32 (--precision f32, the default: on the
    FWW21 tasks the same test MSE to 4 digits as float64 at half the cost);
    the parameters, Adam and the gradient's sum stay in float64 either way.
    cross-entropy: the output must be k*Scalar logits and Y one column of
    class indices 0..k-1 (the default loss when Y has one column for such an
    output; mse otherwise). On a grid, X is (samples, extents..., channels) and
    Y the network's output for it, or its class indices (samples, extents...)
    for per-position classes (segmentation).

    """

    static let evaluate = """
    usage: eqnnc evaluate FILE --weights W --x X --y Y [--loss mse|cross-entropy] [--network NAME]
                         [--positions P --counts N]

    The loss of trained weights on a data set (mean squared error over every
    output coordinate, or mean cross-entropy).

    """

    static let verify = """
    usage: eqnnc verify FILE [--weights W] [--samples 16] [--seed 0] [--network NAME] [--backend interpreter|c|pytorch]

    Applies random group elements (random words in the discrete generators,
    exponentials of random Lie-algebra elements, for every factor) to random
    inputs and reports the largest relative error
    |f(rho_in(g) x) - rho_out(g) f(x)| / |f(x)| in float64 and float32.
    Without --weights, a seeded random initialization. Exit status 1 above
    the tolerances (1e-9 in float64, 1e-3 in float32). --backend c measures
    the generated C instead, built with $CC (default cc) -O2 in both precisions;
    --backend pytorch the emitted module (python3 with torch).
    Grid networks: random elements of the point group, acting about the centre
    of random square grids, and on a torus random translations as well.
    Rotation groups off the pixel lattice (C(n), D(n), SO(2), O(2)): the tests
    above take the elements that map pixels to pixels; then every element (8
    random angles for SO(2) and O(2)) turns a smooth image about the centre
    (bilinear interpolation), and the error inside the central disc is listed
    at the output and, with the interpreter, after each layer (sampling
    errors: they do not change the exit status).
    Networks on points (every back end): random clouds of 2 to 24 points,
    each turned by a random element, moved by a random translation and its
    points put in a random order; per-point outputs are compared point by point.

    """

    static let data = """
    usage: eqnnc data o5|inertia|lorentz|shapes|turned --x X.npy --y Y.npy [--samples 1000] [--seed 0]
                      [--extent 32] [--orientation upright|any]
           eqnnc data clusters|tetris --positions P.npy --counts N.npy --x X.npy --y Y.npy
                      [--forces F.npy] [--samples 1000] [--seed 0] [--orientation any|upright]

    The synthetic tasks of Finzi, Welling and Wilson (2021):
      o5       O(5)-invariant: 2*V -> Scalar, sin|x1| - |x2|^3/2 + x1.x2/(|x1||x2|)
      inertia  O(3)-equivariant: 5*Scalar + 5*V -> V^2, the inertia tensor of 5 bodies
      lorentz  O(1,3)-invariant: 4*V -> Scalar, electron-muon scattering

    and image tasks for grid networks:
      shapes   per-pixel segmentation of random discs, squares, triangles and bars
               on noisy RGB images of --extent pixels a side: x (N, n, n, 3), y
               (N, n, n, 1) classes 0 (background) to 4. Upright shapes point up and
               lie horizontally; --orientation any turns or mirrors each image by
               a random element of p4m (rotations by 90 degrees and mirrors).
      turned   classification of one shape per noisy grayscale image, turned by
               any angle: x (N, n, n, 1), y (N, 1) classes 0 to 6 (disc, ring,
               square, triangle, cross, bar, L); labels invariant to every
               rotation and mirror of the plane.

    and point clouds of varying sizes, every sample's points one after another
    (as PyTorch Geometric batches them): positions (points, 3), per-point
    features x (points, f), counts (samples, 1) the points of each sample, and
    per-sample targets y (samples, k):
      clusters Lennard-Jones clusters of 5 to 30 atoms of Kob and Andersen's
               binary mixture (80% A, 20% B) near equilibrium: x the species
               one-hot (points, 2), y the energy (samples, 1), --forces the
               force on every atom (points, 3), F = -dE/dr exactly.
      tetris   e3nn's eight tetris shapes of four points: x a 1 per point, y the
               class 0 to 7; --orientation any (default) turns each by a random
               rotation, upright keeps them as listed; translated and shuffled
               either way. Classes 0 and 1 are mirror images: an SO(3)-invariant
               network can tell them apart, an O(3)-invariant one cannot.

    """

    static let time = """
    usage: eqnnc time FILE [--batch 1,512] [--train-batch 500] [--seconds 1] [--network NAME]
                      [--extent 64] [--precision f64|f32]

    Throughput of the interpreter on random inputs: forward passes per batch
    size (weights expanded every pass, as in training) and training steps
    (forward, backward, Adam), best of the repetitions that fit the time.
    Grid networks run on square grids of --extent positions per axis, with
    batches 1,16 and a training batch of 16 unless given.

    """

    static let topics = ["time": time, "check": check, "hom": hom, "run": run, "train": train, "evaluate": evaluate,
                         "verify": verify, "data": data]
}
