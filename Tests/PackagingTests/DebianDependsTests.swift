import Foundation
import Testing

/// A release binary with packed relocations (DT_RELR) needs glibc 2.36, which dpkg-shlibdeps does
/// not know: `build-deb` must raise the `libc6` bound itself, or apt would install the package
/// where ld.so refuses to start it. The test build has no packed relocations, so a small C program
/// linked the way `scripts/build-release` links (lld, `-z pack-relative-relocs`, the same C
/// libraries) stands in for it.
@Suite("Debian package: libc6 bound for packed relocations")
struct DebianDependsTests {
    static let program = """
        #include <stdio.h>
        #include <string.h>
        /* Pointers in a PIE: relative relocations for lld to pack. */
        static const char *words[] = {"a", "b", "c", "d", "e", "f", "g", "h"};
        int main(int argc, char **argv) {
            if (argc > 1 && strcmp(argv[1], "--version") == 0) { printf("0.1.0 (relr)\\n"); return 0; }
            for (int i = 0; i < 8; i++) puts(words[i]);
            return 0;
        }
        """

    @Test func aBinaryWithPackedRelocationsDependsOnLibc236() throws {
        try Tool.withTemporaryDirectory { directory in
            let source = directory.appendingPathComponent("relr.c")
            try Self.program.write(to: source, atomically: true, encoding: .utf8)
            let binary = directory.appendingPathComponent("pathwatch").path
            // The Swift toolchain's clang, beside `swift` on PATH; it has lld.
            let clang = "clang"
            try Tool.run([
                clang, "-O1", "-fPIE", "-pie", "-fuse-ld=lld", "-Wl,-z,pack-relative-relocs", "-Wl,--build-id", "-o", binary, source.path,
                // build-deb also checks for the agent's three C libraries.
                "-Wl,--no-as-needed", "-lmnl", "-lnetfilter_conntrack", "-lyaml",
            ])
            let dynamic = try Tool.run(["readelf", "-d", binary]).output
            try #require(dynamic.contains("(RELR)"), "the stand-in has no packed relocations:\n\(dynamic)")
            let output = try Tool.run(["scripts/build-deb", "--fast", "--binary", binary, "--out", directory.path]).output
            let deb = try #require(output.split(separator: "\n").first { $0.hasSuffix(".deb") && !$0.contains("dbgsym") })
            let depends = try Tool.run(["dpkg-deb", "--field", String(deb), "Depends"]).output
            #expect(depends.contains("libc6 (>= 2.36)"), "\(depends)")
        }
    }
}
