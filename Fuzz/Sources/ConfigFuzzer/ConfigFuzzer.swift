import PathwatchCore

/// The configuration parsers (the agent's, the web config's and the kubeconfig reader) and the
/// YAML reader under them on arbitrary text: a value or a ConfigError, never a trap.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    _ = try? ConfigParser.parse(text, file: "fuzz.yaml")
    _ = try? WebConfigParser.parse(text, file: "fuzz.yml")
    _ = try? KubeconfigParser.parse(text, file: "/fuzz/kubeconfig")
    return 0
}
