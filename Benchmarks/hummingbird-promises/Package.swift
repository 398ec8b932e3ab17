// swift-tools-version: 6.1
// A Hummingbird 2 server configured as closely as Hummingbird allows to the promises of docs/http.md,
// measured beside pathwatch's own endpoint by Benchmarks/run-hummingbird-promises.sh. A separate package
// so the agent's build does not pay for Hummingbird.
import PackageDescription

let package = Package(
    name: "hummingbird-promises",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1")
    ],
    targets: [
        .executableTarget(
            name: "hummingbird-promises",
            dependencies: [.product(name: "Hummingbird", package: "hummingbird")],
            swiftSettings: [.swiftLanguageMode(.v6)]
        )
    ]
)
