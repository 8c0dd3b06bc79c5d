/* SPDX-License-Identifier: MIT */
/* One control-socket message over SOCK_SEQPACKET with optional SCM_RIGHTS. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ctl_msg.h"

int pv_ctl_send(int sock, uint16_t type, uint32_t seq, const void *payload, uint32_t len,
		const int *fds, unsigned nfds, int flags)
{
	struct pv_ctl_hdr h = {
		.magic = PV_CTL_MAGIC, .version = PV_CTL_VERSION, .type = type, .len = len, .seq = seq,
	};
	struct iovec iov[2] = { { &h, sizeof(h) }, { (void *)payload, len } };
	union {
		char buf[CMSG_SPACE(sizeof(int) * PV_CTL_MAX_FDS)];
		struct cmsghdr align;
	} u;
	struct msghdr m = { .msg_iov = iov, .msg_iovlen = len ? 2 : 1 };
	ssize_t n;

	if (nfds > PV_CTL_MAX_FDS || sizeof(h) + len > PV_CTL_MAX_MSG)
		return -EINVAL;
	if (nfds) {
		memset(&u, 0, sizeof(u));
		m.msg_control = u.buf;
		m.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		struct cmsghdr *c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	do {
		n = sendmsg(sock, &m, flags | MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return n == (ssize_t)(sizeof(h) + len) ? 0 : -EIO;
}

/* Collects SCM_RIGHTS fds; false if anything else or too many arrived
 * (every received fd is then closed). */
static bool take_fds(struct msghdr *m, int *fds, unsigned max_fds, unsigned *nfds)
{
	bool ok = !(m->msg_flags & MSG_CTRUNC);

	*nfds = 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR(m, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) {
			ok = false;
			continue;
		}
		unsigned n = (unsigned)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		int got[16];

		if (n > 16)
			n = 16;
		memcpy(got, CMSG_DATA(c), n * sizeof(int));
		for (unsigned i = 0; i < n; i++) {
			if (*nfds < max_fds)
				fds[(*nfds)++] = got[i];
			else {
				close(got[i]);
				ok = false;
			}
		}
	}
	if (!ok) {
		for (unsigned i = 0; i < *nfds; i++)
			close(fds[i]);
		*nfds = 0;
	}
	return ok;
}

int pv_ctl_recv(int sock, struct pv_ctl_hdr *hdr, void *buf, uint32_t cap, int *fds,
		unsigned max_fds, unsigned *nfds)
{
	unsigned char pkt[PV_CTL_MAX_MSG];
	union {
		char buf[CMSG_SPACE(sizeof(int) * 16)];
		struct cmsghdr align;
	} u;
	struct iovec iov = { pkt, sizeof(pkt) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			    .msg_controllen = sizeof(u.buf) };
	ssize_t n;

	*nfds = 0;
	do {
		n = recvmsg(sock, &m, MSG_CMSG_CLOEXEC);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if (n == 0)
		return -ECONNRESET;
	if (!take_fds(&m, fds, max_fds, nfds))
		return -EBADMSG;
	if ((m.msg_flags & MSG_TRUNC) || (size_t)n < sizeof(*hdr))
		goto bad;
	memcpy(hdr, pkt, sizeof(*hdr));
	if (hdr->magic != PV_CTL_MAGIC || hdr->version != PV_CTL_VERSION ||
	    hdr->len != (size_t)n - sizeof(*hdr) || hdr->len > cap)
		goto bad;
	memcpy(buf, pkt + sizeof(*hdr), hdr->len);
	return (int)hdr->len;
bad:
	for (unsigned i = 0; i < *nfds; i++)
		close(fds[i]);
	*nfds = 0;
	return -EBADMSG;
}
