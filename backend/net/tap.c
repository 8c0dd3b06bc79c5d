/* SPDX-License-Identifier: MIT */
/* TAP devices: IFF_VNET_HDR so checksum and GSO metadata travel with each
 * packet, IFF_MULTI_QUEUE so every queue has its own fd. */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net_int.h"

static int tap_open_queue(const char *name, char *ifname, bool single)
{
	struct ifreq ifr;
	int fd, hdr = (int)sizeof(struct virtio_net_hdr), r;

	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | IFF_MULTI_QUEUE;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name[0] ? name : "pvtap%d");
	r = ioctl(fd, TUNSETIFF, &ifr);
	/* A persistent TAP made without multi_queue (`ip tuntap add mode tap`)
	 * refuses the flag; one queue does not need it (QEMU does the same). */
	if (r < 0 && errno == EINVAL && single) {
		ifr.ifr_flags &= (short)~IFF_MULTI_QUEUE;
		r = ioctl(fd, TUNSETIFF, &ifr);
	}
	if (r < 0 || ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	memcpy(ifname, ifr.ifr_name, IFNAMSIZ);
	ifname[IFNAMSIZ - 1] = '\0';
	return fd;
}

int net_tap_open(const char *name, unsigned nr_queues, int *fds, char *ifname)
{
	char first[IFNAMSIZ];
	unsigned i;
	int fd;

	for (i = 0; i < nr_queues; i++) {
		/* Later queues attach to the name the first one got. */
		fd = tap_open_queue(i ? first : name, i ? ifname : first, nr_queues == 1);
		if (fd < 0)
			goto fail;
		fds[i] = fd;
	}
	memcpy(ifname, first, IFNAMSIZ);
	return 0;
fail:
	while (i-- > 0)
		close(fds[i]);
	return fd;
}

int net_tap_set_offload(int fd, bool csum, bool tso4, bool tso6)
{
	unsigned long f = 0;

	/* TSO needs checksum offload (the kernel refuses it alone). */
	if (csum)
		f |= TUN_F_CSUM | (tso4 ? TUN_F_TSO4 : 0) | (tso6 ? TUN_F_TSO6 : 0);
	return ioctl(fd, TUNSETOFFLOAD, f) < 0 ? -errno : 0;
}

int net_tap_set_mtu(const char *ifname, uint32_t mtu)
{
	struct ifreq ifr;
	int s, err = 0;

	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_mtu = (int)mtu;
	if (ioctl(s, SIOCSIFMTU, &ifr) < 0)
		err = -errno;
	close(s);
	return err;
}
