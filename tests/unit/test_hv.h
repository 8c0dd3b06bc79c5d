/* SPDX-License-Identifier: MIT */
/* Suites of the test_hv binary (one main in test_hv.c). */
#ifndef TEST_HV_H
#define TEST_HV_H

#include <stdbool.h>

void test_hv_iobus_add(void);
void test_hv_loader_add(void);
bool test_hv_have_kvm(void);

#endif
