// swift-tools-version: 6.1
// libFuzzer targets for every parser that reads kernel or operator input. Built and run by
// scripts/fuzz (`swift build --sanitize=fuzzer`), never by the main package's build.
import PackageDescription

let fuzzer: [SwiftSetting] = [.swiftLanguageMode(.v6), .unsafeFlags(["-parse-as-library"])]

let package = Package(
    name: "pathwatch-fuzz",
    dependencies: [.package(name: "pathwatch", path: "..")],
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
    ]
)
