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
        .target(name: "EqnnDiagnostics"),
        .target(name: "EqnnSyntax", dependencies: ["EqnnDiagnostics"]),
        .target(name: "EqnnLinearAlgebra"),
        .target(name: "EqnnGroups", dependencies: ["EqnnLinearAlgebra"]),
        .target(name: "EqnnSema", dependencies: ["EqnnDiagnostics", "EqnnSyntax", "EqnnGroups", "EqnnLinearAlgebra", "EqnnIR"]),
        .target(name: "EqnnIR", dependencies: ["EqnnDiagnostics", "EqnnData"]),
        .target(name: "EqnnData", dependencies: ["EqnnDiagnostics", "EqnnLinearAlgebra"]),
        // The matrix product's kernels, in C: chosen at run time for the machine's vector units (AVX-512, AVX2).
        .target(name: "EqnnKernels"),
        .target(name: "EqnnInterpreter", dependencies: ["EqnnIR", "EqnnGroups", "EqnnLinearAlgebra", "EqnnKernels"]),
        .target(name: "EqnnCBackend", dependencies: ["EqnnIR"]),
        .target(name: "EqnnPyTorchBackend", dependencies: ["EqnnDiagnostics", "EqnnIR"]),
        .target(name: "EqnnDriver", dependencies: [
            "EqnnDiagnostics", "EqnnSyntax", "EqnnGroups", "EqnnSema", "EqnnIR", "EqnnData", "EqnnInterpreter", "EqnnCBackend",
            "EqnnPyTorchBackend",
        ]),
        .executableTarget(name: "eqnnc", dependencies: ["EqnnDriver"]),
        .testTarget(name: "EqnnDiagnosticsTests", dependencies: ["EqnnDiagnostics"]),
        .testTarget(name: "EqnnSyntaxTests", dependencies: ["EqnnSyntax"]),
        .testTarget(name: "EqnnLinearAlgebraTests", dependencies: ["EqnnLinearAlgebra"]),
        .testTarget(name: "EqnnGroupsTests", dependencies: ["EqnnGroups", "EqnnLinearAlgebra"]),
        .testTarget(name: "EqnnSemaTests", dependencies: ["EqnnSema", "EqnnSyntax", "EqnnGroups", "EqnnDiagnostics", "EqnnIR"]),
        .testTarget(name: "EqnnIRTests", dependencies: ["EqnnIR", "EqnnSema", "EqnnGroups", "EqnnDiagnostics"]),
        .testTarget(name: "EqnnDataTests", dependencies: ["EqnnData"]),
        .testTarget(name: "EqnnInterpreterTests", dependencies: ["EqnnInterpreter", "EqnnKernels", "EqnnIR", "EqnnSema", "EqnnGroups", "EqnnLinearAlgebra", "EqnnDiagnostics"]),
        .testTarget(
            name: "EqnnDriverTests", dependencies: ["EqnnDriver", "EqnnDiagnostics", "EqnnCBackend", "EqnnIR", "EqnnInterpreter", "EqnnLinearAlgebra",
                                                 "EqnnData", "EqnnGroups", "EqnnSema"],
            exclude: ["Diagnostics", "Generated"]),
    ]
)
