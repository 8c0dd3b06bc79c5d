/* SPDX-License-Identifier: MIT */
/* `pvkvm run --nic`: see net_run.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net_run.h"
#include "netback_bus.h"
#include "store_dom.h"
#include "xs_client.h"

struct net_run {
	unsigned n;
	struct net_back *nb[NET_RUN_MAX_NICS];
	char store_sock[256];
	uint16_t domid;
};

static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned v[6];
	char tail;

	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
		   &tail) != 6 || strlen(s) != 17)
		return -EINVAL;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)v[i];
	return 0;
}

static int parse_num(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *s == '-')
		return -EINVAL;
	switch (*end) {
	case 'k': case 'K': v *= 1000; end++; break;
	case 'm': case 'M': v *= 1000000; end++; break;
	case 'g': case 'G': v *= 1000000000; end++; break;
	}
	if (*end || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

static int nic_key(struct net_vif_config *c, const char *key, const char *val, bool *have_mac)
{
	uint64_t v;

	if (!strcmp(key, "tap")) {
		if (!*val || strlen(val) >= sizeof(c->tap))
			return -EINVAL;
		snprintf(c->tap, sizeof(c->tap), "%s", val);
		return 0;
	}
	if (!strcmp(key, "mac"))
		return (*have_mac = parse_mac(val, c->mac) == 0) ? 0 : -EINVAL;
	if (!strcmp(key, "mtu")) {
		if (parse_num(val, NET_MTU_MAX, &v) || v < NET_MTU_MIN)
			return -EINVAL;
		c->mtu = (uint32_t)v;
		return 0;
	}
	if (!strcmp(key, "rate"))
		return parse_num(val, UINT64_MAX / 1000, &c->rate_bytes_per_s);
	if (!strcmp(key, "queues")) {
		if (parse_num(val, NET_MAX_QUEUES, &v) || v < 1)
			return -EINVAL;
		c->max_queues = (unsigned)v;
		return 0;
	}
	return -EINVAL;
}

int net_nic_parse(const char *spec, uint16_t domid, unsigned index, struct net_vif_config *cfg,
		  char *err, size_t errlen)
{
	char buf[256], *save = NULL, *kv;
	bool have_mac = false;

	memset(cfg, 0, sizeof(*cfg));
	cfg->mtu = 1500;
	cfg->max_queues = 1;
	if (strlen(spec) >= sizeof(buf))
		goto bad;
	snprintf(buf, sizeof(buf), "%s", spec);
	for (kv = strtok_r(buf, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(kv, '=');

		if (!eq)
			goto bad;
		*eq = '\0';
		if (nic_key(cfg, kv, eq + 1, &have_mac)) {
			snprintf(err, errlen, "--nic '%s': bad %s", spec, kv);
			return -EINVAL;
		}
	}
	if (!cfg->tap[0])
		goto bad;
	if (!have_mac)
		memcpy(cfg->mac, (uint8_t[]){ 0x52, 0x54, 0, 0, (uint8_t)domid, (uint8_t)index }, 6);
	return 0;
bad:
	snprintf(err, errlen, "--nic '%s': want tap=NAME[,mac=MAC][,mtu=N][,rate=N][,queues=N]", spec);
	return -EINVAL;
}

static void net_run_rm_devices(struct net_run *r)
{
	struct xs_client *c;
	char path[128];

	if (xs_client_open(r->store_sock, &c))
		return;
	for (unsigned i = 0; i < r->n; i++) {
		snprintf(path, sizeof(path), "/local/domain/0/backend/vif/%u/%u", r->domid, i);
		xs_rm(c, 0, path);
		snprintf(path, sizeof(path), "/local/domain/%u/device/vif/%u", r->domid, i);
		xs_rm(c, 0, path);
	}
	xs_client_close(c);
}

/* `pvkvm run` adds the devices before the guest is introduced to the store
 * (that happens when it sets up its store ring), so parents made on the way
 * would belong to domain 0 and hide device/vif/ from the guest: make them
 * the guest's first, as the introduction will make its home. */
static int net_run_guest_dirs(const char *store_sock, uint16_t domid)
{
	const char *sub[] = { "", "/device", "/device/vif" };
	char path[64], owner[16];
	const char *perms[] = { owner, "r0" };
	struct xs_client *c;
	int err = 0;

	snprintf(owner, sizeof(owner), "n%u", domid);
	if ((err = xs_client_open(store_sock, &c)))
		return err;
	for (unsigned i = 0; i < 3 && !err; i++) {
		snprintf(path, sizeof(path), "/local/domain/%u%s", domid, sub[i]);
		if (!(err = xs_mkdir(c, 0, path)))
			err = xs_set_perms(c, 0, path, perms, 2);
	}
	xs_client_close(c);
	return err;
}

int net_run_start(struct net_run **out, const char *ctl_path, const char *store_sock,
		  uint16_t domid, const char *const *specs, unsigned n, char *err, size_t errlen)
{
	struct net_vif_config cfg[NET_RUN_MAX_NICS];
	struct net_run *r;
	int e = 0;

	*out = NULL;
	if (n == 0)
		return 0;
	if (n > NET_RUN_MAX_NICS) {
		snprintf(err, errlen, "at most %d --nic", NET_RUN_MAX_NICS);
		return -E2BIG;
	}
	/* Usage errors first, before anything is created. */
	for (unsigned i = 0; i < n; i++)
		if ((e = net_nic_parse(specs[i], domid, i, &cfg[i], err, errlen)))
			return e;
	if (!(r = calloc(1, sizeof(*r))))
		return -ENOMEM;
	snprintf(r->store_sock, sizeof(r->store_sock), "%s", store_sock);
	r->domid = domid;
	if ((e = net_run_guest_dirs(store_sock, domid))) {
		snprintf(err, errlen, "store %s: %s (is pvkvm-stored running?)", store_sock, strerror(-e));
		free(r);
		return e;
	}
	for (unsigned i = 0; i < n && !e; i++) {
		struct net_back_opts o = { .ctl_path = ctl_path, .store_sock = store_sock,
					   .domid = domid, .devid = i, .cfg = cfg[i] };

		r->n = i + 1;
		if ((e = pv_store_add_device(store_sock, domid, "vif", i, NULL, NULL, 0)))
			snprintf(err, errlen, "nic %u: store %s: %s", i, store_sock, strerror(-e));
		else if ((e = net_back_start(&r->nb[i], &o)))
			snprintf(err, errlen, "nic %u: tap %s: %s", i, o.cfg.tap, strerror(-e));
	}
	if (e) {
		net_run_stop(r);
		return e;
	}
	*out = r;
	return 0;
}

void net_run_stop(struct net_run *r)
{
	if (!r)
		return;
	for (unsigned i = 0; i < r->n; i++)
		if (r->nb[i])
			net_back_close(r->nb[i]);
	net_run_rm_devices(r);
	free(r);
}
