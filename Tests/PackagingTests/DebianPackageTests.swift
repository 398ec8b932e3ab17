import Foundation
import Testing

/// Builds the .deb from the test build's binary (the release binary only changes its size),
/// then looks inside it, runs lintian on it, and installs, upgrades, removes and purges it in a
/// throwaway dpkg root.
@Suite("Debian package", .serialized)
struct DebianPackageTests {
    /// Builds the packages into `directory`; returns the path of the package and of its -dbgsym.
    static func buildBoth(into directory: URL) throws -> (deb: String, dbgsym: String) {
        for tool in ["dpkg-deb", "dpkg-shlibdeps", "dpkg-parsechangelog", "strip", "objcopy", "readelf"] { try Tool.require(tool) }
        let output = try Tool.run(["scripts/build-deb", "--fast", "--binary", Tool.binary, "--out", directory.path]).output
        let lines = output.split(separator: "\n").map(String.init)
        try #require(lines.count == 2, "build-deb prints the two packages: \(output)")
        return (lines[0], lines[1])
    }

    struct BuildFailure: Error, CustomStringConvertible, Sendable { var description: String }

    /// One build of the packages per test run, shared by the tests (each only reads them):
    /// splitting and stripping the 58 MB test binary takes ~30 s on two busy cores. Under .build,
    /// replaced by the next run.
    static let shared: Result<Packages, BuildFailure> = {
        let directory = Tool.path(".build/packaging-tests")
        do {
            try? FileManager.default.removeItem(at: directory)
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let (deb, dbgsym) = try buildBoth(into: directory)
            return .success(Packages(deb: deb, dbgsym: dbgsym))
        } catch {
            return .failure(BuildFailure(description: "\(error)"))
        }
    }()

    struct Packages: Sendable {
        var deb: String
        var dbgsym: String
    }

    /// The shared packages; the main one's path.
    static func build() throws -> String { try shared.get().deb }

    static let expectedFiles: Set<String> = [
        "./usr/bin/pathwatch", "./lib/systemd/system/pathwatch.service", "./etc/pathwatch/config.yaml",
        "./usr/share/man/man1/pathwatch.1.gz", "./usr/share/doc/pathwatch/README.md",
        "./usr/share/doc/pathwatch/examples/alerts.yml", "./usr/share/doc/pathwatch/examples/grafana-dashboard.json",
        "./usr/share/doc/pathwatch/copyright", "./usr/share/doc/pathwatch/changelog.gz",
        "./usr/share/lintian/overrides/pathwatch",
    ]

    /// lintian, as a Debian archive would run it: no error-level tag on either package. The
    /// one override (embedded-library zlib, which swift-nio-extras compiles in) carries its reason.
    ///
    /// The test build links the Swift runtime from the toolchain (`RUNPATH /opt/swift/…`), which
    /// lintian rightly calls `custom-library-search-path`; that one tag is let through for it
    /// alone. The release binary links the runtime statically and its only RUNPATH is `$ORIGIN`
    /// (`scripts/build-release` checks); its packages have no error and no warning
    /// (docs/benchmarks.md, "Debian package").
    @Test func lintianFindsNoError() throws {
        try Tool.require("lintian")
        let linkedToTheToolchain = try Tool.run(["readelf", "-d", Tool.binary]).output.contains("RUNPATH")
        let packages = try Self.shared.get()
        for package in [packages.deb, packages.dbgsym] {
            let result = try Tool.run(["lintian", "--no-cfg", "--fail-on", "none", "--display-level", ">=warning", package], check: false)
            let errors = result.output.split(separator: "\n").filter {
                $0.hasPrefix("E: ") && !(linkedToTheToolchain && $0.contains(" custom-library-search-path RUNPATH "))
            }
            #expect(errors.isEmpty, "lintian \(package):\n\(result.output)")
            #expect(result.status == 0, "lintian could not run: \(result.output)")
        }
    }

    /// The installed binary carries no symbol table or DWARF; the -dbgsym package holds them,
    /// under the binary's build id, and gdb-style lookups find them there.
    @Test func theBinaryIsStrippedAndItsSymbolsAreInTheDbgsymPackage() throws {
        try Tool.withTemporaryDirectory { directory in
            let (deb, dbgsym) = try (Self.shared.get().deb, Self.shared.get().dbgsym)
            let root = directory.appendingPathComponent("root")
            try Tool.run(["dpkg-deb", "-x", deb, root.path])
            try Tool.run(["dpkg-deb", "-x", dbgsym, root.path])
            let binary = root.appendingPathComponent("usr/bin/pathwatch").path
            let sections = try Tool.run(["readelf", "-S", "-W", binary]).output
            #expect(!sections.contains(".symtab") && !sections.contains(".debug_"), "\(sections)")
            let notes = try Tool.run(["readelf", "-n", binary]).output
            let buildID = try #require(
                notes.split(separator: "\n").first { $0.contains("Build ID:") }?.split(separator: " ").last.map(String.init))
            let debugFile = root.appendingPathComponent("usr/lib/debug/.build-id/\(buildID.prefix(2))/\(buildID.dropFirst(2)).debug")
            let debugSections = try Tool.run(["readelf", "-S", "-W", debugFile.path]).output
            #expect(debugSections.contains(".symtab") && debugSections.contains(".debug_info"))
            #expect(try Tool.run(["dpkg-deb", "--field", dbgsym, "Build-Ids"]).output.contains(buildID))
            #expect(try Tool.run(["dpkg-deb", "--field", dbgsym, "Depends"]).output.contains("pathwatch (="))
            // Still runs.
            #expect(try Tool.run([binary, "--version"]).output.hasPrefix(try Tool.run([Tool.binary, "--version"]).output))
        }
    }

    /// The copyright file is machine-readable and names each statically linked component.
    @Test func copyrightNamesEveryStaticallyLinkedComponent() throws {
        let text = try Tool.read("packaging/debian/copyright")
        #expect(text.hasPrefix("Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n"))
        let checkouts = try FileManager.default.contentsOfDirectory(atPath: Tool.path(".build/checkouts").path)
        for package in checkouts { #expect(text.contains(".build/checkouts/\(package)/"), "\(package) is not in debian/copyright") }
        for part in ["libswift", "libFoundationEssentials", "libdispatch", "libyaml-0-2", "CNIOLLHTTP"] {
            #expect(text.contains(part), "\(part)")
        }
        // Every licence named in a Files stanza has its own paragraph.
        let used = Set(text.split(separator: "\n").filter { $0.hasPrefix("License: ") }.map { $0.dropFirst(9) })
        let paragraphs = Set(
            text.components(separatedBy: "\n\n").compactMap { block -> Substring? in
                let lines = block.split(separator: "\n")
                guard let first = lines.first, first.hasPrefix("License: "), lines.count > 1 else { return nil }
                return first.dropFirst(9)
            })
        #expect(used == paragraphs, "licences without text: \(used.subtracting(paragraphs))")
    }

    @Test func controlFieldsContentsAndConffiles() throws {
        try Tool.withTemporaryDirectory { directory in
            let deb = try Self.build()
            func field(_ name: String) throws -> String {
                try Tool.run(["dpkg-deb", "--field", deb, name]).output.trimmingCharacters(in: .whitespacesAndNewlines)
            }
            let version = try Tool.run([Tool.binary, "--version"]).output.split(separator: " ").first.map(String.init)
            #expect(try field("Package") == "pathwatch")
            #expect(try field("Version") == version)
            #expect(
                try field("Architecture")
                    == (try Tool.run(["dpkg", "--print-architecture"]).output.trimmingCharacters(in: .whitespacesAndNewlines)))
            let depends = try field("Depends")
            for library in ["libmnl0", "libnetfilter-conntrack3", "libyaml-0-2", "libc6"] {
                #expect(depends.contains(library), "\(depends)")
            }
            #expect(!depends.contains("swift"))

            // Every file, owned by root, with its mode.
            let listing = try Tool.run(["dpkg-deb", "--contents", deb]).output.split(separator: "\n")
            var files: [String: String] = [:]
            for line in listing {
                let columns = line.split(separator: " ", omittingEmptySubsequences: true)
                guard let mode = columns.first, let path = columns.last else { continue }
                #expect(columns[1] == "root/root", "\(line)")
                if mode.hasPrefix("-") { files[String(path)] = String(mode) }
            }
            #expect(Self.expectedFiles.isSubset(of: Set(files.keys)), "\(files.keys.sorted())")
            #expect(files["./usr/bin/pathwatch"] == "-rwxr-xr-x")
            #expect(files["./etc/pathwatch/config.yaml"] == "-rw-r--r--")
            let docs = try FileManager.default.contentsOfDirectory(atPath: Tool.path("docs").path).filter { $0.hasSuffix(".md") }
            for doc in docs { #expect(files["./usr/share/doc/pathwatch/\(doc)"] != nil, "docs/\(doc) is not packaged") }

            let control = directory.appendingPathComponent("control")
            try Tool.run(["dpkg-deb", "--control", deb, control.path])
            #expect(try String(contentsOf: control.appendingPathComponent("conffiles"), encoding: .utf8) == "/etc/pathwatch/config.yaml\n")
            for script in ["postinst", "prerm", "postrm"] {
                let path = control.appendingPathComponent(script).path
                #expect(FileManager.default.isExecutableFile(atPath: path), "\(script) is not executable")
                try Tool.run(["sh", "-n", path])
            }

            // The packaged unit verifies clean with the packaged binary and man page.
            let root = directory.appendingPathComponent("root")
            try Tool.run(["dpkg-deb", "-x", deb, root.path])
            #expect(try Tool.run([root.appendingPathComponent("usr/bin/pathwatch").path, "--version"]).output.hasPrefix(version ?? "?"))
            let unit = try String(contentsOf: root.appendingPathComponent("lib/systemd/system/pathwatch.service"), encoding: .utf8)
            #expect(unit == (try Tool.read("packaging/systemd/pathwatch.service")))
            let output = try SystemdUnitTests.verify(
                unitText: unit, binary: root.appendingPathComponent("usr/bin/pathwatch").path,
                manDirectory: root.appendingPathComponent("usr/share/man"))
            #expect(output.isEmpty, "\(output)")
        }
    }

    /// Install, upgrade, remove, purge with dpkg into a throwaway root. The maintainer scripts run
    /// outside it (chrootless) against stand-ins for deb-systemd-helper, deb-systemd-invoke and
    /// systemctl that only record their arguments, so nothing on this host changes.
    /// `systemdRunning` puts /run/systemd/system in place inside a private mount namespace.
    @Test(
        .enabled(if: Tool.isRoot, "needs root: dpkg's admin directory and a private mount namespace"),
        arguments: [false, true])
    func maintainerScriptsEnableStartAndStopTheService(systemdRunning: Bool) throws {
        if !systemdRunning {
            try #require(
                !FileManager.default.fileExists(atPath: "/run/systemd/system"),
                "systemd runs on this host; the no-systemd case is covered by the mount namespace variant only")
        }
        try Tool.require("dpkg")
        try Tool.require("unshare")
        try Tool.withTemporaryDirectory { directory in
            let deb = try Self.build()
            let root = directory.appendingPathComponent("root")
            let admin = root.appendingPathComponent("var/lib/dpkg")
            try FileManager.default.createDirectory(at: admin.appendingPathComponent("updates"), withIntermediateDirectories: true)
            try FileManager.default.createDirectory(at: admin.appendingPathComponent("info"), withIntermediateDirectories: true)
            _ = FileManager.default.createFile(atPath: admin.appendingPathComponent("status").path, contents: Data())
            let stubs = directory.appendingPathComponent("stubs")
            let calls = directory.appendingPathComponent("calls")
            try FileManager.default.createDirectory(at: stubs, withIntermediateDirectories: true)
            for tool in ["deb-systemd-helper", "deb-systemd-invoke", "systemctl"] {
                let stub = stubs.appendingPathComponent(tool)
                try "#!/bin/sh\necho \"\(tool) $*\" >> '\(calls.path)'\nexit 0\n".write(to: stub, atomically: true, encoding: .utf8)
                try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: stub.path)
            }
            let path = stubs.path + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")

            func dpkg(_ arguments: [String]) throws -> [String] {
                try? FileManager.default.removeItem(at: calls)
                let command = ["dpkg", "--root=\(root.path)", "--force-script-chrootless", "--force-depends"] + arguments
                let quoted = command.map { "'\($0)'" }.joined(separator: " ")
                let script = systemdRunning ? "mount -t tmpfs pathwatch-test /run && mkdir -p /run/systemd/system && \(quoted)" : quoted
                try Tool.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script], environment: ["PATH": path])
                let text = (try? String(contentsOf: calls, encoding: .utf8)) ?? ""
                return text.split(separator: "\n").map(String.init)
            }
            let config = root.appendingPathComponent("etc/pathwatch/config.yaml")

            // Fresh install: enabled; started when systemd runs.
            var seen = try dpkg(["-i", deb])
            #expect(seen.contains("deb-systemd-helper enable pathwatch.service"), "\(seen)")
            #expect(seen.contains("deb-systemd-invoke start pathwatch.service") == systemdRunning, "\(seen)")
            #expect(!seen.contains { $0.contains("stop") || $0.contains("restart") }, "\(seen)")
            #expect(FileManager.default.fileExists(atPath: root.appendingPathComponent("usr/bin/pathwatch").path))

            // An operator's edit survives an upgrade (reinstall); the service restarts.
            try (try String(contentsOf: config, encoding: .utf8) + "\n# edited by the operator\n").write(
                to: config, atomically: true, encoding: .utf8)
            seen = try dpkg(["-i", deb])
            #expect(seen.contains("deb-systemd-invoke restart pathwatch.service") == systemdRunning, "\(seen)")
            #expect(!seen.contains("deb-systemd-invoke stop pathwatch.service"), "an upgrade restarts, never stops: \(seen)")
            #expect(try String(contentsOf: config, encoding: .utf8).hasSuffix("# edited by the operator\n"))

            // Remove: stopped (under systemd), masked; the configuration stays.
            seen = try dpkg(["--remove", "pathwatch"])
            #expect(seen.contains("deb-systemd-invoke stop pathwatch.service") == systemdRunning, "\(seen)")
            #expect(seen.contains("deb-systemd-helper mask pathwatch.service"), "\(seen)")
            #expect(!FileManager.default.fileExists(atPath: root.appendingPathComponent("usr/bin/pathwatch").path))
            #expect(FileManager.default.fileExists(atPath: config.path))

            // Purge: every trace of the enablement and the configuration go.
            seen = try dpkg(["--purge", "pathwatch"])
            #expect(seen.contains("deb-systemd-helper purge pathwatch.service"), "\(seen)")
            #expect(!FileManager.default.fileExists(atPath: config.path))
        }
    }
}
