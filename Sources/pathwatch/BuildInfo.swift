/// The version `pathwatch --version` and `pathwatch_build_info` report. Release builds
/// (scripts/build-release) stamp the commit; a development build says "dev".
enum BuildInfo {
    static let version = "0.1.0"
    static let commit = "dev"
}
