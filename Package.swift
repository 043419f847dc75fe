// swift-tools-version:6.0
// eqnnc: a compiler for equivariant neural networks. No package dependencies:
// only the Swift toolchain. One library module per compiler stage.
import PackageDescription

let package = Package(
    name: "eqnnc",
    products: [
        .executable(name: "eqnnc", targets: ["eqnnc"]),
        .library(name: "EqnnDriver", targets: ["EqnnDriver"]),
    ],
    targets: [
        // JSON, shared by the stages that read or write it (the IR's graph, diagnostics, data files).
        .target(name: "EqnnSupport"),
        .target(name: "EqnnDiagnostics"),
        .target(name: "EqnnSyntax", dependencies: ["EqnnDiagnostics"]),
        .target(name: "EqnnLinearAlgebra"),
        .target(name: "EqnnGroups", dependencies: ["EqnnLinearAlgebra"]),
        .target(name: "EqnnSema", dependencies: ["EqnnDiagnostics", "EqnnSyntax", "EqnnGroups", "EqnnLinearAlgebra", "EqnnIR"]),
        // The contract of the back ends: a leaf but for JSON.
        .target(name: "EqnnIR", dependencies: ["EqnnSupport"]),
        .target(name: "EqnnData", dependencies: ["EqnnSupport", "EqnnLinearAlgebra", "EqnnIR"]),
        // The matrix product's kernels, in C: chosen at run time for the machine's vector units (AVX-512, AVX2).
        .target(name: "EqnnKernels"),
        .target(name: "EqnnInterpreter", dependencies: ["EqnnIR", "EqnnLinearAlgebra", "EqnnKernels"]),
        // Equivariance measured under random group elements, for every back end (`eqnnc verify`).
        .target(name: "EqnnVerify", dependencies: ["EqnnInterpreter", "EqnnIR", "EqnnGroups", "EqnnLinearAlgebra"]),
        .target(name: "EqnnCBackend", dependencies: ["EqnnIR"]),
        .target(name: "EqnnPyTorchBackend", dependencies: ["EqnnSupport", "EqnnIR"]),
        .target(name: "EqnnONNXBackend", dependencies: ["EqnnIR"]),
        .target(name: "EqnnDriver", dependencies: [
            "EqnnSupport", "EqnnDiagnostics", "EqnnSyntax", "EqnnGroups", "EqnnSema", "EqnnIR", "EqnnData", "EqnnInterpreter",
            "EqnnVerify", "EqnnCBackend", "EqnnPyTorchBackend", "EqnnONNXBackend",
        ]),
        .executableTarget(name: "eqnnc", dependencies: ["EqnnDriver"]),
        .testTarget(name: "EqnnDiagnosticsTests", dependencies: ["EqnnDiagnostics"]),
        .testTarget(name: "EqnnSyntaxTests", dependencies: ["EqnnSyntax"]),
        .testTarget(name: "EqnnLinearAlgebraTests", dependencies: ["EqnnLinearAlgebra"]),
        .testTarget(name: "EqnnGroupsTests", dependencies: ["EqnnGroups", "EqnnLinearAlgebra"]),
        .testTarget(name: "EqnnSemaTests", dependencies: ["EqnnSema", "EqnnGroups", "EqnnDiagnostics"]),
        .testTarget(name: "EqnnIRTests", dependencies: ["EqnnIR", "EqnnSema", "EqnnGroups", "EqnnDiagnostics", "EqnnSupport"]),
        .testTarget(name: "EqnnDataTests", dependencies: ["EqnnData", "EqnnSupport"]),
        .testTarget(name: "EqnnInterpreterTests", dependencies: ["EqnnInterpreter", "EqnnKernels", "EqnnIR", "EqnnSema", "EqnnGroups", "EqnnLinearAlgebra", "EqnnDiagnostics",
                                                              "EqnnData", "EqnnVerify"]),
        // What the test targets share: the checkout's examples, golden diffs, scratch directories.
        .target(name: "EqnnTestSupport", dependencies: ["EqnnIR", "EqnnInterpreter", "EqnnLinearAlgebra"], path: "Tests/EqnnTestSupport"),
        .testTarget(name: "EqnnONNXBackendTests", dependencies: ["EqnnTestSupport", "EqnnDriver", "EqnnONNXBackend", "EqnnIR", "EqnnInterpreter",
                                                              "EqnnLinearAlgebra", "EqnnData", "EqnnSupport"]),
        .testTarget(name: "EqnnCBackendTests", dependencies: ["EqnnTestSupport", "EqnnDriver", "EqnnCBackend", "EqnnIR", "EqnnInterpreter",
                                                           "EqnnLinearAlgebra", "EqnnData"]),
        .testTarget(name: "EqnnPyTorchBackendTests", dependencies: ["EqnnTestSupport", "EqnnDriver", "EqnnPyTorchBackend", "EqnnIR",
                                                                 "EqnnInterpreter", "EqnnLinearAlgebra", "EqnnData", "EqnnDiagnostics",
                                                                 "EqnnSupport"]),
        .testTarget(
            name: "EqnnDriverTests", dependencies: ["EqnnTestSupport", "EqnnDriver", "EqnnDiagnostics", "EqnnCBackend", "EqnnIR", "EqnnInterpreter",
                                                 "EqnnLinearAlgebra", "EqnnData", "EqnnGroups", "EqnnSema", "EqnnSupport", "EqnnPyTorchBackend"],
            exclude: ["Diagnostics", "Generated"]),
    ]
)
