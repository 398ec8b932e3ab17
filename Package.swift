// swift-tools-version: 6.1
import PackageDescription

let strict: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "pathwatch",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "pathwatch", targets: ["pathwatch"]),
        // The decoders and the decision logic, as libraries for the fuzzers in Fuzz/.
        .library(name: "Netlink", targets: ["Netlink"]),
        .library(name: "PathwatchCore", targets: ["PathwatchCore"]),
        // For Fuzz/HTTPFuzzer only: the HTTP server's connection pipeline (HTTPConnectionHarness).
        .library(name: "PathwatchAgent", targets: ["PathwatchAgent"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-system.git", from: "1.8.1"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/adam-fowler/compress-nio.git", from: "1.5.0"),
        // Only its HummingbirdBcrypt product (a C bcrypt): verifies web-config basic_auth_users.
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),
    ],
    targets: [
        // Thin C shim over libmnl and libnetfilter_conntrack: only what Swift cannot import.
        .target(
            name: "CNetlink",
            path: "CNetlink",
            linkerSettings: [.linkedLibrary("mnl"), .linkedLibrary("netfilter_conntrack")]
        ),
        // Pure Swift: netlink wire format, typed rtnetlink/ctnetlink messages. No C, no I/O.
        .target(name: "Netlink", swiftSettings: strict),
        // Netlink sockets (libmnl), dumps and subscriptions.
        .target(
            name: "NetlinkIO",
            dependencies: ["CNetlink", "Netlink", .product(name: "SystemPackage", package: "swift-system")],
            swiftSettings: strict
        ),
        // Decisions: the node model, findings, configuration. Never imports CNetlink.
        .target(
            name: "PathwatchCore",
            dependencies: ["Netlink", "CYAML", .product(name: "SystemPackage", package: "swift-system")],
            swiftSettings: strict
        ),
        // LibYAML from Debian (libyaml-dev): the configuration reader's parser, without Foundation.
        .systemLibrary(name: "CYAML", providers: [.apt(["libyaml-dev"])]),
        // Wiring: watchers, metrics, HTTP, logging, lifecycle.
        .target(
            name: "PathwatchAgent",
            dependencies: [
                "PathwatchCore", "NetlinkIO", "Netlink",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                // Kubernetes reporting: HTTPS to the API server.
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "NIOTLS", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "pathwatch",
            dependencies: [
                "PathwatchAgent", "PathwatchCore", "NetlinkIO", "Netlink",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // Records raw netlink messages from the kernel as test fixtures (scripts/record-*-fixtures).
        .executableTarget(name: "netlink-record", dependencies: ["NetlinkIO", "Netlink"], swiftSettings: strict),
        .executableTarget(
            name: "pathwatch-bench",
            dependencies: ["NetlinkIO", "Netlink", "PathwatchCore"],
            path: "Benchmarks/pathwatch-bench",
            swiftSettings: strict
        ),
        .testTarget(
            name: "NetlinkTests",
            dependencies: ["Netlink", "NetlinkIO", "CNetlink", .product(name: "SystemPackage", package: "swift-system")],
            resources: [.copy("Fixtures")],
            swiftSettings: strict
        ),
        .testTarget(name: "PathwatchCoreTests", dependencies: ["PathwatchCore", "Netlink"], swiftSettings: strict),
        .testTarget(
            name: "PathwatchAgentTests",
            dependencies: [
                "PathwatchAgent", "PathwatchCore", "Netlink",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "ServiceLifecycleTestKit", package: "swift-service-lifecycle"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
            ],
            exclude: ["Golden"],  // read through #filePath so a regenerated file is the one compared
            swiftSettings: strict
        ),
        .testTarget(name: "IntegrationTests", dependencies: ["Netlink"], swiftSettings: strict),
        // Checks packaging/ with the tools operators use: systemd-analyze, promtool, dpkg-deb,
        // kubernetes-validate (scripts/setup installs them; a missing tool fails the test).
        .testTarget(
            name: "PackagingTests",
            dependencies: ["PathwatchCore", .product(name: "Yams", package: "Yams")],
            swiftSettings: strict
        ),
    ]
)
