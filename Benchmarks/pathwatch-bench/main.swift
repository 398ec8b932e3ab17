if CommandLine.arguments.count > 1, CommandLine.arguments[1] == "socket-sampling" {
    socketSamplingBenchmark(Array(CommandLine.arguments.dropFirst(2)))
} else {
    print("x")
}
