#define _GNU_SOURCE  // for setns(2) in <sched.h>
#include "CNetlink.h"

#include <pthread.h>
#include <sched.h>

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack.h>

size_t cnl_socket_buffer_size(void) { return MNL_SOCKET_BUFFER_SIZE; }

size_t cnl_nlmsg_align(size_t len) { return NLMSG_ALIGN(len); }

int cnl_setns_net(int fd) { return setns(fd, CLONE_NEWNET); }

int cnl_set_thread_name(const char *name) { return pthread_setname_np(pthread_self(), name); }

int cnl_recv_datagrams(int fd, void *slots, size_t slot_size, unsigned int count, uint32_t *lengths) {
    struct mmsghdr headers[64];
    struct iovec vectors[64];
    if (count > 64) count = 64;
    for (unsigned int i = 0; i < count; i++) {
        vectors[i].iov_base = (char *)slots + i * slot_size;
        vectors[i].iov_len = slot_size;
        memset(&headers[i], 0, sizeof headers[i]);
        headers[i].msg_hdr.msg_iov = &vectors[i];
        headers[i].msg_hdr.msg_iovlen = 1;
    }
    int received = recvmmsg(fd, headers, count, MSG_DONTWAIT, NULL);
    for (int i = 0; i < received; i++) lengths[i] = headers[i].msg_len;
    return received;
}

uint16_t cnl_nfnl_msg_type(uint16_t type) { return NFNL_MSG_TYPE(type); }

static void copy_address(const struct nf_conntrack *ct, int family, enum nf_conntrack_attr v4,
                         enum nf_conntrack_attr v6, uint8_t out[16]) {
    memset(out, 0, 16);
    if (family == AF_INET && nfct_attr_is_set(ct, v4)) {
        memcpy(out, nfct_get_attr(ct, v4), 4);
    } else if (family == AF_INET6 && nfct_attr_is_set(ct, v6)) {
        memcpy(out, nfct_get_attr(ct, v6), 16);
    }
}

int cnl_nfct_decode(const void *message, size_t len, struct cnl_flow *out) {
    const struct nlmsghdr *nlh = message;
    if (len < sizeof(*nlh) || nlh->nlmsg_len > len) return -1;
    struct nf_conntrack *ct = nfct_new();
    if (ct == NULL) return -1;
    if (nfct_nlmsg_parse(nlh, ct) < 0) {
        nfct_destroy(ct);
        return -1;
    }
    memset(out, 0, sizeof(*out));
    out->family = nfct_get_attr_u8(ct, ATTR_L3PROTO);
    out->l4proto = nfct_get_attr_u8(ct, ATTR_L4PROTO);
    if (nfct_attr_is_set(ct, ATTR_TCP_STATE)) {
        out->has_tcp_state = 1;
        out->tcp_state = nfct_get_attr_u8(ct, ATTR_TCP_STATE);
    }
    out->id = nfct_attr_is_set(ct, ATTR_ID) ? nfct_get_attr_u32(ct, ATTR_ID) : 0;
    out->status = nfct_attr_is_set(ct, ATTR_STATUS) ? nfct_get_attr_u32(ct, ATTR_STATUS) : 0;
    copy_address(ct, out->family, ATTR_ORIG_IPV4_SRC, ATTR_ORIG_IPV6_SRC, out->orig_src);
    copy_address(ct, out->family, ATTR_ORIG_IPV4_DST, ATTR_ORIG_IPV6_DST, out->orig_dst);
    copy_address(ct, out->family, ATTR_REPL_IPV4_SRC, ATTR_REPL_IPV6_SRC, out->repl_src);
    copy_address(ct, out->family, ATTR_REPL_IPV4_DST, ATTR_REPL_IPV6_DST, out->repl_dst);
    out->orig_sport = ntohs(nfct_get_attr_u16(ct, ATTR_ORIG_PORT_SRC));
    out->orig_dport = ntohs(nfct_get_attr_u16(ct, ATTR_ORIG_PORT_DST));
    out->repl_sport = ntohs(nfct_get_attr_u16(ct, ATTR_REPL_PORT_SRC));
    out->repl_dport = ntohs(nfct_get_attr_u16(ct, ATTR_REPL_PORT_DST));
    nfct_destroy(ct);
    return 0;
}

int cnl_attach_conntrack_source_filter(int fd, const uint32_t *v4_addresses, const uint32_t *v4_masks, size_t v4_count,
                                       const uint32_t *v6_addresses, const uint32_t *v6_masks, size_t v6_count) {
    struct nfct_filter *filter = nfct_filter_create();
    if (filter == NULL) return -1;
    for (size_t i = 0; i < v4_count; i++) {
        struct nfct_filter_ipv4 prefix = {.addr = v4_addresses[i], .mask = v4_masks[i]};
        nfct_filter_add_attr(filter, NFCT_FILTER_SRC_IPV4, &prefix);
    }
    if (v4_count > 0) nfct_filter_set_logic(filter, NFCT_FILTER_SRC_IPV4, NFCT_FILTER_LOGIC_POSITIVE);
    for (size_t i = 0; i < v6_count; i++) {
        struct nfct_filter_ipv6 prefix;
        memcpy(prefix.addr, v6_addresses + 4 * i, sizeof(prefix.addr));
        memcpy(prefix.mask, v6_masks + 4 * i, sizeof(prefix.mask));
        nfct_filter_add_attr(filter, NFCT_FILTER_SRC_IPV6, &prefix);
    }
    if (v6_count > 0) nfct_filter_set_logic(filter, NFCT_FILTER_SRC_IPV6, NFCT_FILTER_LOGIC_POSITIVE);
    int result = nfct_filter_attach(fd, filter);
    int saved = errno;
    nfct_filter_destroy(filter);
    errno = saved;
    return result;
}

int cnl_detach_conntrack_filter(int fd) { return nfct_filter_detach(fd); }
