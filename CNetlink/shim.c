#define _GNU_SOURCE  // for setns(2) in <sched.h>
#include "CNetlink.h"

#include <sched.h>

#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack.h>

size_t cnl_socket_buffer_size(void) { return MNL_SOCKET_BUFFER_SIZE; }

size_t cnl_nlmsg_align(size_t len) { return NLMSG_ALIGN(len); }

int cnl_setns_net(int fd) { return setns(fd, CLONE_NEWNET); }

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
