#!/usr/bin/env python3
"""Where a process's resident memory goes, from /proc/PID/smaps and /proc/PID/pagemap.

    resident-pages.py PID BINARY

Groups every mapping's Rss and Pss (KiB) by what it is: the binary's own pages (split by ELF
section, and the text and read-only data further by the component their symbols belong to:
Swift runtime, Foundation, ICU, NIO, Yams/libyaml, pathwatch ...), shared libraries, heap and
anonymous memory, thread stacks. A page of the binary counts for the component whose symbol
starts at or before it (an approximation at component boundaries, never off by more than a page
per symbol run). Needs root (pagemap's present bits). Prints a Markdown table.
"""
import bisect
import collections
import re
import struct
import subprocess
import sys

PAGE = 4096


def mappings(pid):
    """(start, end, perms, offset, path, rss_kib, pss_kib) for each mapping in smaps."""
    out, current = [], None
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            head = re.match(r"^([0-9a-f]+)-([0-9a-f]+) (\S+) ([0-9a-f]+) \S+ \d+\s*(.*)$", line)
            if head:
                if current:
                    out.append(current)
                start, end, perms, offset, path = head.groups()
                current = [int(start, 16), int(end, 16), perms, int(offset, 16), path.strip(), 0, 0]
            elif line.startswith("Rss:"):
                current[5] = int(line.split()[1])
            elif line.startswith("Pss:"):
                current[6] = int(line.split()[1])
    if current:
        out.append(current)
    return out


def present_pages(pid, start, end):
    """Virtual addresses of the resident pages in [start, end)."""
    pages = []
    with open(f"/proc/{pid}/pagemap", "rb") as f:
        f.seek(start // PAGE * 8)
        data = f.read((end - start) // PAGE * 8)
    for i in range(len(data) // 8):
        (entry,) = struct.unpack_from("<Q", data, i * 8)
        if entry >> 63 & 1:
            pages.append(start + i * PAGE)
    return pages


def sections(binary):
    """(file offset, size, name) of the allocated sections."""
    out = []
    text = subprocess.run(["readelf", "-S", "-W", binary], capture_output=True, text=True, check=True).stdout
    for line in text.splitlines():
        m = re.match(r"^\s*\[\s*\d+\]\s+(\S+)\s+\S+\s+([0-9a-f]+)\s+([0-9a-f]+)\s+([0-9a-f]+)\s+\S+\s+(\S*)", line)
        if m and "A" in m.group(5):
            out.append((int(m.group(3), 16), int(m.group(4), 16), m.group(1), int(m.group(2), 16)))
    return sorted(out)


COMPONENTS = [
    (re.compile(r"^(icudt|u_|ucal_|ucol_|udat_|unum_|ures_|uloc_|ubrk_|ucnv_|utrans_|uregex_|icu_|_ZN6icu_|_ZNK6icu_|_ZN\d*icu)"), "ICU (_FoundationICU)"),
    (re.compile(r"^\$s\d+(FoundationInternationalization|FoundationEssentials|_FoundationCollections|FoundationNetworking|Foundation)"), "Foundation (Swift)"),
    (re.compile(r"^(__CF|CF|_CF|__NS|_NS|NS)"), "CoreFoundation"),
    (re.compile(r"^(yaml_|\$s\d*Yams|\$s4Yams)"), "Yams + libyaml"),
    (re.compile(r"^(\$s\d+NIO|\$s\d+_NIO|c_nio|CNIO|llhttp|nio_|\$s\d+CNIO)"), "SwiftNIO"),
    (re.compile(r"^(dispatch_|_dispatch|_os_|os_|\$s8Dispatch|Block_|_Block)"), "libdispatch"),
    (re.compile(r"^\$s\d+(Netlink|NetlinkIO|PathwatchCore|PathwatchAgent|pathwatch|CNetlink)"), "pathwatch"),
    (re.compile(r"^\$s\d+(Logging|Metrics|CoreMetrics|Prometheus|ServiceLifecycle|UnixSignals|ArgumentParser|AsyncAlgorithms|DequeModule|OrderedCollections|Atomics|SystemPackage|_Concurrency|_StringProcessing|_RegexParser|Synchronization)"), "other Swift packages, Concurrency, regex"),
    (re.compile(r"^(\$s|\$S|_swift|swift_|_T0|\$ss|__swift)"), "Swift runtime + stdlib"),
]


def component(symbol):
    for pattern, name in COMPONENTS:
        if pattern.match(symbol):
            return name
    return "other C/C++ (libstdc++ shims, crt)"


def symbols(binary):
    """Sorted (address, component) of the defined symbols."""
    text = subprocess.run(["nm", "-n", "--defined-only", binary], capture_output=True, text=True).stdout
    out = []
    for line in text.splitlines():
        parts = line.split(None, 2)
        if len(parts) == 3 and parts[1] in "tTrRdDbBvVwW":
            out.append((int(parts[0], 16), component(parts[2])))
    return out


def main():
    pid, binary = int(sys.argv[1]), sys.argv[2]
    rows = collections.OrderedDict()

    def add(key, rss, pss):
        r = rows.setdefault(key, [0, 0])
        r[0] += rss
        r[1] += pss

    maps = mappings(pid)
    secs = sections(binary)
    syms = symbols(binary)
    sym_addrs = [a for a, _ in syms]
    real = subprocess.run(["readlink", "-f", binary], capture_output=True, text=True).stdout.strip()
    for start, end, perms, offset, path, rss, pss in maps:
        if path == real:
            share = pss / rss if rss else 1.0
            for page in present_pages(pid, start, end):
                # Pages are matched to sections by file offset, then to symbols by the section's
                # link-time address (PIE or not).
                fileoff = offset + (page - start)
                name, vaddr = "other (headers, relocated data)", None
                for foff, size, sname, addr in secs:
                    if foff <= fileoff < foff + size and sname not in (".tbss", ".bss"):
                        name, vaddr = sname, addr + (fileoff - foff)
                        break
                if "w" in perms and name == "other (headers, relocated data)":
                    name = ".bss/.data (written)"
                if name in (".text", ".rodata", ".data.rel.ro", ".eh_frame", ".eh_frame_hdr", ".gcc_except_table"):
                    if name in (".text", ".rodata", ".data.rel.ro") and vaddr is not None:
                        i = bisect.bisect_right(sym_addrs, vaddr + PAGE - 1) - 1
                        comp = syms[i][1] if i >= 0 else "other"
                        add(f"binary {name}: {comp}", 4, 4 * share)
                    else:
                        add(f"binary {name} (unwind tables)", 4, 4 * share)
                else:
                    add(f"binary {name}", 4, 4 * share)
        elif path == "[heap]":
            add("heap ([heap], malloc arenas below 128 KiB)", rss, pss)
        elif path.startswith("[stack"):
            add("main thread stack", rss, pss)
        elif path.startswith("/") and ".so" in path:
            add(f"shared library {path.rsplit('/', 1)[-1]}", rss, pss)
        elif path.startswith("["):
            add(f"kernel {path}", rss, pss)
        elif path == "":
            # Thread stacks are anonymous mappings just above a guard page (---p) of the same run.
            size = end - start
            if perms.startswith("rw") and size in (8 << 20, (8 << 20) - PAGE, 512 << 10, (512 << 10) - PAGE):
                add("thread stacks (anonymous, 8 MiB / 512 KiB reservations)", rss, pss)
            else:
                add("anonymous (malloc arenas, mmapped allocations, Swift metadata)", rss, pss)
        else:
            add(f"file {path}", rss, pss)
    total_rss = sum(r[0] for r in rows.values())
    total_pss = sum(r[1] for r in rows.values())
    print("| where | RSS KiB | PSS KiB |")
    print("|---|---:|---:|")
    for key, (rss, pss) in sorted(rows.items(), key=lambda kv: -kv[1][0]):
        if rss >= 8:
            print(f"| {key} | {rss} | {pss:.0f} |")
    print(f"| **total** | **{total_rss}** | **{total_pss:.0f}** |")


if __name__ == "__main__":
    main()
