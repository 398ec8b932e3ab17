import ArgumentParser
import PathwatchAgent
import PathwatchCore

@main
struct Pathwatch: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pathwatch",
        abstract: "Watches a Linux node's network through netlink and explains the failures operators lose days to.",
        discussion: """
            pathwatch follows links, addresses, routes, rules and conntrack events, serves Prometheus \
            metrics and a JSON findings API, and runs as a systemd service or a Kubernetes DaemonSet. \
            See README.md and docs/ for the configuration keys, metrics and findings.
            """,
        version: "\(BuildInfo.version) (\(BuildInfo.commit))",
        subcommands: [Run.self, Doctor.self, Autofix.self]
    )
}

extension AutofixMode: ExpressibleByArgument {}
extension LogFormat: ExpressibleByArgument {}
extension LogLevel: ExpressibleByArgument {}

extension ListenAddress: ExpressibleByArgument {
    public init?(argument: String) { self.init(argument) }
}

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the agent in the foreground until SIGTERM or SIGINT; SIGHUP re-reads the config file.",
        discussion: """
            Command-line flags override the config file. A config file with an unknown key or a bad \
            value is refused (exit status 2) before anything on the node is touched. Needs root or \
            CAP_NET_ADMIN.
            """
    )

    @Option(name: .long, help: ArgumentHelp("YAML config file (keys: docs/configuration.md).", valueName: "file"))
    var config: String?

    @Option(name: .long, help: ArgumentHelp("Address of the HTTP endpoint (default 0.0.0.0:9469).", valueName: "addr:port"))
    var listen: ListenAddress?

    @Option(name: .long, help: ArgumentHelp("Auto-fix mode: off, dry-run or on (default off).", valueName: "mode"))
    var autofix: AutofixMode?

    @Option(
        name: .long,
        help: ArgumentHelp("Control socket for `pathwatch autofix` (default /run/pathwatch/control.sock).", valueName: "path"))
    var controlSocket: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "exporter-toolkit web configuration (TLS, basic auth; re-read on SIGHUP and when its files change).", valueName: "file"))
    var webConfig: String?

    @Option(name: .long, help: ArgumentHelp("Log format: text or json (default text).", valueName: "format"))
    var logFormat: LogFormat?

    @Option(
        name: .long,
        help: ArgumentHelp("Log level: trace, debug, info, notice, warning, error, critical (default info).", valueName: "level"))
    var logLevel: LogLevel?

    func run() async throws {
        let loader = ConfigLoader(
            path: config,
            overrides: ConfigOverrides(
                listen: listen, autofix: autofix, logFormat: logFormat, logLevel: logLevel, controlSocket: controlSocket,
                webConfig: webConfig))
        let status = await Agent.run(loader: loader, version: BuildInfo.version, commit: BuildInfo.commit)
        if status != .clean { throw ExitCode(status.rawValue) }
    }
}

struct Autofix: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Switch a running agent's auto-fix mode: off, dry-run or on.",
        discussion: """
            Talks to the agent over its local control socket, which only root can use. The change \
            lasts until the next change or until a SIGHUP re-reads a config file whose autofix \
            value differs. Exit status: 0 switched, 1 the agent refused, 2 no agent reachable.
            """
    )

    @Argument(help: ArgumentHelp("The mode: off, dry-run or on.", valueName: "mode"))
    var mode: AutofixMode

    @Option(name: .long, help: ArgumentHelp("The agent's control socket.", valueName: "path"))
    var socket = AgentConfig().controlSocket

    func run() throws {
        let answer: String
        do {
            answer = try ControlClient.send("autofix \(mode.rawValue)", to: socket)
        } catch {
            printError("pathwatch: \(error)")
            throw ExitCode(2)
        }
        print(answer)
        if !answer.hasPrefix("ok") { throw ExitCode(1) }
    }
}

struct Doctor: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Diagnose this node once: watch it for a few seconds and print what pathwatch finds.",
        discussion: """
            Runs every detector (hairpin, missing subnet routes; with --config, the subnet routes \
            to check) without serving anything and with auto-fix forced off: it never changes the \
            node. Exit status: 0 nothing found, 1 something found, 2 it could not look (bad \
            configuration, missing privileges, kernel state unreadable).
            """
    )

    @Option(name: .long, help: ArgumentHelp("YAML config file, as for run (subnetRoutes and thresholds).", valueName: "file"))
    var config: String?

    @Option(name: .long, help: ArgumentHelp("How long to watch, in seconds (default 10).", valueName: "seconds"))
    var duration: Double = 10

    @Flag(name: .long, help: "Print the findings as JSON, in the /findings shape, with notes.")
    var json = false

    func run() async throws {
        // Checked here rather than in validate(): doctor's contract is exit status 2 on any error.
        guard duration >= 1, duration <= 3600 else {
            printError("pathwatch doctor: --duration must be between 1 and 3600 seconds")
            throw ExitCode(2)
        }
        let status = await PathwatchAgent.Doctor.run(
            loader: ConfigLoader(path: config, overrides: ConfigOverrides()), duration: duration, json: json, version: BuildInfo.version,
            commit: BuildInfo.commit)
        if status != 0 { throw ExitCode(status) }
    }
}
