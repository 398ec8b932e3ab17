// swift-tools-version: 6.1
// libFuzzer targets for every parser that reads kernel, operator or client input. Built and run by
// scripts/fuzz (`swift build --sanitize=fuzzer`), never by the main package's build.
import PackageDescription

let fuzzer: [SwiftSetting] = [.swiftLanguageMode(.v6), .unsafeFlags(["-parse-as-library"])]

let package = Package(
    name: "pathwatch-fuzz",
    dependencies: [
        .package(name: "pathwatch", path: ".."),
        // The same packages (and so the same resolved versions) as the agent, for the HTTP fuzzer's
        // in-memory channel and its silent logger.
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        // To check the gzipped /metrics answers.
        .package(url: "https://github.com/adam-fowler/compress-nio.git", from: "1.5.0"),
    ],
    targets: [
        // rtnetlink, ctnetlink and sock_diag messages, as the kernel would send them.
        .executableTarget(
            name: "NetlinkFuzzer", dependencies: [.product(name: "Netlink", package: "pathwatch")], swiftSettings: fuzzer),
        // The YAML configuration file.
        .executableTarget(
            name: "ConfigFuzzer", dependencies: [.product(name: "PathwatchCore", package: "pathwatch")], swiftSettings: fuzzer),
        // Text and HTTP the agent reads from the machine: /proc/net counters, rt_cache, metadata answers.
        .executableTarget(
            name: "ProcFuzzer", dependencies: [.product(name: "PathwatchCore", package: "pathwatch")], swiftSettings: fuzzer),
        // The control socket's request framing and parser.
        .executableTarget(
            name: "ControlFuzzer", dependencies: [.product(name: "PathwatchCore", package: "pathwatch")], swiftSettings: fuzzer),
        // Bytes from an HTTP client through the server's real connection pipeline and request loop.
        .executableTarget(
            name: "HTTPFuzzer",
            dependencies: [
                .product(name: "PathwatchAgent", package: "pathwatch"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CompressNIO", package: "compress-nio"),
            ],
            swiftSettings: fuzzer
        ),
    ]
)
