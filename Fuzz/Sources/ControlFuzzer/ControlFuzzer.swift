import PathwatchCore

/// A control-socket client's bytes, framed and parsed as the server does, and also parsed whole.
/// Besides never trapping: a refusal is one short line of printable ASCII (the server sends it
/// back as its answer and logs it), and an accepted request is one of the documented
/// forms, byte for byte, so nothing else can change the auto-fix mode.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let received = Array(UnsafeBufferPointer(start: data, count: size))
    check(received)
    if let line = ControlRequest.line(in: received) {
        require(line.count <= received.count && !line.contains(0x0A), "the request line is not one line")
        check(line)
    }
    return 0
}

private func check(_ line: [UInt8]) {
    switch ControlRequest.parse(line) {
    case .success(let request):
        let words = line.split(whereSeparator: { [0x20, 0x09, 0x0D, 0x0A].contains($0) }).map(Array.init)
        let expected: [String]
        switch request {
        case .status: expected = ["status"]
        case .setAutofix(let mode): expected = ["autofix", mode.rawValue]
        }
        require(words == expected.map { Array($0.utf8) }, "accepted \(words), which is not a documented form")
    case .failure(let error):
        require(!error.message.isEmpty, "a refusal without a reason")
        require(
            error.message.utf8.allSatisfy { (0x20...0x7E).contains($0) },
            "a refusal that is not printable ASCII: \(Array(error.message.utf8))")
        require(error.message.utf8.count <= 512, "a refusal longer than an answer line should be")
    }
}

/// `precondition` without its message in release builds; the fuzzer's report needs it.
private func require(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fatalError(message()) }
}
