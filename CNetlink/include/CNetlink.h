// CNetlink: the C edge of pathwatch.
//
// Swift imports libmnl's socket functions and the kernel's netlink constants directly through
// this header. The functions below exist only for what Swift cannot import: function-like
// macros, and libnetfilter_conntrack's opaque objects, which the test suite uses as an
// independent decoder to cross-check pathwatch's own Swift ctnetlink parser.
#ifndef CNETLINK_H
#define CNETLINK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/eventfd.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <libmnl/libmnl.h>

/// MNL_SOCKET_BUFFER_SIZE calls sysconf() inside a macro; Swift cannot import it.
size_t cnl_socket_buffer_size(void);

/// NLMSG_ALIGN is a function-like macro.
size_t cnl_nlmsg_align(size_t len);

/// NFNL_MSG_TYPE is a function-like macro: the nfnetlink message type without the subsystem.
uint16_t cnl_nfnl_msg_type(uint16_t type);

/// setns(2) is declared only under _GNU_SOURCE, which Swift's Glibc module does not define.
/// Moves the calling thread into the network namespace `fd` refers to; -1 with errno on failure.
int cnl_setns_net(int fd);

/// Names the calling thread for the kernel (`comm`: `top -H`, `/proc/PID/task/TID/comm`), at
/// most 15 bytes; 0, or an error number. pthread_setname_np needs _GNU_SOURCE too.
int cnl_set_thread_name(const char *name);

/// recvmmsg(2) without waiting into `count` (at most 64) contiguous slots of `slot_size` bytes
/// at `slots`; the length of datagram i goes to `lengths[i]` (cut to the slot when longer).
/// Returns how many were read, or -1 with errno set. Glibc's module map hides recvmmsg and
/// struct mmsghdr (they need _GNU_SOURCE), hence this shim.
int cnl_recv_datagrams(int fd, void *slots, size_t slot_size, unsigned int count, uint32_t *lengths);

/// A ctnetlink flow as libnetfilter_conntrack decodes it; addresses in network byte order.
struct cnl_flow {
    uint8_t family;
    uint8_t l4proto;
    uint8_t tcp_state;
    uint8_t has_tcp_state;
    uint32_t id;
    uint32_t status;
    uint8_t orig_src[16];
    uint8_t orig_dst[16];
    uint8_t repl_src[16];
    uint8_t repl_dst[16];
    uint16_t orig_sport; // host order
    uint16_t orig_dport;
    uint16_t repl_sport;
    uint16_t repl_dport;
};

/// Decodes one ctnetlink message with libnetfilter_conntrack. Returns 0, or -1 when the
/// library rejects the message. The caller must have validated nlmsg_len against len: libmnl
/// and libnetfilter_conntrack trust it.
int cnl_nfct_decode(const void *message, size_t len, struct cnl_flow *out);

/// Attaches libnetfilter_conntrack's BPF event filter (nfct_filter) to the netlink socket `fd`:
/// events whose original source matches none of the prefixes are dropped in the kernel, before
/// they are queued for this socket. Addresses and masks are host-order 32-bit words (IPv6: four
/// words each, most significant first). A family with no prefixes is not filtered. At most
/// 127 IPv4 and 20 IPv6 prefixes (the library's limits); the caller aggregates beyond them.
/// Returns 0, or -1 with errno set.
int cnl_attach_conntrack_source_filter(int fd, const uint32_t *v4_addresses, const uint32_t *v4_masks, size_t v4_count,
                                       const uint32_t *v6_addresses, const uint32_t *v6_masks, size_t v6_count);

/// Removes any socket filter from `fd` (nfct_filter_detach). Returns 0, or -1 with errno set.
int cnl_detach_conntrack_filter(int fd);

#endif
