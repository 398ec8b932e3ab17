import Netlink

/// Everything the operator can set, with defaults that are safe on any node.
///
/// Each key is documented in docs/configuration.md; keep the two in step.
public struct AgentConfig: Sendable, Equatable {
    /// Where the read-only HTTP endpoint listens.
    public var listen = ListenAddress(host: "0.0.0.0", port: 9469)
    public var autofix = AutofixMode.off
    public var logFormat = LogFormat.text
    public var logLevel = LogLevel.info
    /// Per interface: destinations it must reach via its own subnet gateway.
    public var subnetRoutes: [String: [IPPrefix]] = [:]
    /// Per interface: the subnet gateway, when it is not the subnet's first address (`.1`).
    public var subnetGateways: [String: IPAddress] = [:]
    /// How missing subnet routes are repaired when auto-fix is on.
    public var repair = RepairSettings()
    /// How often conntrack is scanned for unreplied flows leaving by the wrong interface; 0 turns
    /// the scan off.
    public var liveTrafficScanSeconds = 5.0
    /// How long after start-up (once ready) the executable's read-only pages are handed back to
    /// the kernel, so that code only start-up ran stops counting in the agent's resident memory;
    /// 0 never does.
    public var releaseStartupPagesAfterSeconds = 30.0
    /// The local control socket `pathwatch autofix` talks to (root only).
    public var controlSocket = "/run/pathwatch/control.sock"
    public var netlink = NetlinkSettings()
    public var conntrack = ConntrackSettings()
    public var hairpin = HairpinSettings()
    public var http = HTTPSettings()
    /// Learning what must be reachable at run time (the cloud's instance metadata).
    public var discovery = DiscoverySettings()
    public var paths = PathSettings()
    public var kubernetes = KubernetesSettings()

    public init() {}

    public struct RepairSettings: Sendable, Equatable {
        public var strategy = RepairStrategy.mainTable
        /// Policy-routing strategy: interface N's routes go in table `policyTableBase + N`.
        public var policyTableBase: UInt32 = 10_000
        /// Policy-routing strategy: priority of the `from ADDRESS lookup TABLE` rules.
        public var policyRulePriority: UInt32 = 10_000
        /// A repair re-installed more often than this within `windowSeconds` is flapping:
        /// something else removes it, and pathwatch stops fighting and says so.
        public var maxInstallsPerWindow = 3
        public var windowSeconds = 600.0
        public init() {}
    }

    public struct NetlinkSettings: Sendable, Equatable {
        /// Kernel receive queue for the route/link/address/rule subscription socket.
        public var receiveBufferBytes = 8 << 20
        public init() {}
    }

    public struct ConntrackSettings: Sendable, Equatable {
        /// Whether to subscribe to conntrack events at all.
        public var enabled = true
        /// Kernel receive queue for the conntrack event socket; bursts of new connections need
        /// room here, or events are lost (counted as overruns and followed by a re-dump).
        public var receiveBufferBytes = 32 << 20
        /// Select events in the kernel: only flows whose original source is a node-local endpoint
        /// cross into user space (off: every event does, as `conntrack -E` shows them).
        public var kernelFilter = true
        /// The most flows the agent's table keeps (flows sourced from the node's own addresses);
        /// beyond it new flows are counted and left out, so the agent's memory stays bounded
        /// whatever the node's conntrack table holds.
        public var maxTrackedFlows = 262_144
        public init() {}
    }

    public struct HairpinSettings: Sendable, Equatable {
        /// How long an outbound flow is remembered, waiting for its return to this node.
        public var windowSeconds = 2.0
        /// At most this many flows are remembered; a flood evicts the oldest.
        public var maxTrackedFlows = 65_536
        /// A hairpin finding closes after this long without a new hairpinned flow.
        public var quietSeconds = 300.0
        /// Frontends beyond this many share the `other` label in pathwatch_hairpin_flows_total.
        public var maxFrontendLabels = 20
        /// Open findings per kind (`hairpin`, `self_sourced_syn_drop`); further frontends are
        /// summarised in one finding with key `other`, so a flood cannot grow `/findings`.
        public var maxFindings = 50
        /// Whether the agent installs its per-packet probe for self-sourced SYNs (its own
        /// nftables table `inet pathwatch` feeding an nfnetlink_log group). Off, or when it cannot
        /// be installed, the agent falls back to the kernel's `in_martian_src` counter.
        public var probe = true
        /// The nfnetlink_log group the probe's rule logs to; one listener per group and network
        /// namespace, so it must not collide with ulogd or another tool's group.
        public var probeLogGroup = 196
        /// At most this many SYNs a second are logged (the rule's `limit`); every match is still
        /// counted by the rule's counter.
        public var probeRatePerSecond = 100
        public init() {}
    }

    public struct DiscoverySettings: Sendable, Equatable {
        /// Read each interface's subnet and the VPC's CIDR blocks from the EC2 instance metadata
        /// service (IMDSv2). Off by default; needs `repair.strategy: policy-routing`.
        public var metadata = false
        /// The metadata service: `http://` and a literal address, no path.
        public var endpoint = MetadataEndpoint(host: "169.254.169.254", port: 80)
        /// Connect plus response, per request.
        public var timeoutSeconds = 2.0
        /// How often the answers are read again (failures retry sooner, backing off up to this).
        public var refreshSeconds = 300.0
        public init() {}
    }

    public struct HTTPSettings: Sendable, Equatable {
        public var maxConnections = 256
        public var idleTimeoutSeconds = 30.0
        public var maxRequestHeadBytes = 16 * 1024
        public var requestHeadTimeoutSeconds = 10.0
        public var writeTimeoutSeconds = 30.0
        public var loopbackReserve = 4
        /// Who may read `/state` (whole tables, individual flows).
        public var stateFrom = StateAccess.loopback
        /// The exporter-toolkit web configuration file (TLS, basic auth); nil: plain HTTP, no auth.
        public var webConfig: String?
        public init() {}
    }
}

/// Where a corrective route goes.
public enum RepairStrategy: String, Sendable, CaseIterable {
    /// `ip route add DEST via GW dev IFACE` in the main table, as the incident's fix did.
    case mainTable = "main-table"
    /// `ip rule add from ADDRESS lookup TABLE` plus the route in that per-interface table, the
    /// way multi-interface cloud images route each interface's traffic out of itself.
    case policyRouting = "policy-routing"
}

/// Who may read `/state`: it lists every flow and route of the node, and on a host-network
/// DaemonSet no NetworkPolicy guards the port.
public enum StateAccess: String, Sendable, CaseIterable {
    /// Clients connecting from 127.0.0.0/8 or ::1 only; others get 403.
    case loopback
    case any
}

public enum LogFormat: String, Sendable, CaseIterable {
    case text
    case json
}

public enum LogLevel: String, Sendable, CaseIterable {
    case trace, debug, info, notice, warning, error, critical
}

/// `HOST:PORT`, with IPv6 hosts in brackets (`[::]:9469`).
public struct ListenAddress: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    public init?(_ text: String) {
        let host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { return nil }
            portText = rest.dropFirst()
            guard IPAddress(host)?.family == .inet6 else { return nil }
        } else {
            guard let colon = text.lastIndex(of: ":") else { return nil }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
            guard host.isEmpty || IPAddress(host)?.family == .inet || host == "localhost" else { return nil }
        }
        guard let port = Int(portText), (0...65535).contains(port), portText.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        self.host = host.isEmpty ? "0.0.0.0" : String(host)
        self.port = port
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// `http://HOST[:PORT]` with a literal IPv4 or bracketed IPv6 address: no DNS, no TLS, no path.
public struct MetadataEndpoint: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    public init?(_ text: String) {
        guard text.hasPrefix("http://") else { return nil }
        var rest = String(text.dropFirst("http://".count))
        if rest.hasSuffix("/") { rest.removeLast() }
        guard !rest.isEmpty, !rest.contains("/") else { return nil }
        let hasPort = rest.hasPrefix("[") ? rest.contains("]:") : rest.contains(":")
        // Same HOST:PORT rules as `listen`, but a literal address only and port 80 by default.
        guard let parsed = ListenAddress(hasPort ? rest : rest + ":80"), parsed.port > 0, IPAddress(parsed.host) != nil,
            rest.first != ":"
        else { return nil }
        self.host = parsed.host
        self.port = parsed.port
    }

    public var address: IPAddress? { IPAddress(host) }

    public var description: String {
        let h = host.contains(":") ? "[\(host)]" : host
        return port == 80 ? "http://\(h)" : "http://\(h):\(port)"
    }
}
