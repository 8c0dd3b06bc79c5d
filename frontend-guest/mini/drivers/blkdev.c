/* SPDX-License-Identifier: MIT */
/* Block-device registry: every MINI_BLK_DRIVER is probed once. */
#include "mini/blkdev.h"

#define MAX_BLKDEVS 16

extern const struct mini_blk_driver __start_mini_blk_drivers[], __stop_mini_blk_drivers[];
static struct mini_blkdev *blkdevs[MAX_BLKDEVS];
static unsigned nr_blkdevs;
static bool probed;

unsigned mini_blk_probe_all(struct mini_blkdev ***devs)
{
	if (!probed) {
		for (const struct mini_blk_driver *drv = __start_mini_blk_drivers;
		     drv < __stop_mini_blk_drivers; drv++)
			nr_blkdevs += drv->probe(blkdevs + nr_blkdevs, MAX_BLKDEVS - nr_blkdevs);
		probed = true;
	}
	*devs = blkdevs;
	return nr_blkdevs;
}
