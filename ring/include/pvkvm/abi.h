/* SPDX-License-Identifier: MIT */
/* Common definitions for the pvkvm guest ABI headers: fixed-width types in
 * both worlds and a compile-time assertion that works in C99, C11 and the
 * Linux kernel.  Every shared structure pins its size and offsets with it. */
#ifndef PVKVM_ABI_H
#define PVKVM_ABI_H

#ifdef __KERNEL__
#include <linux/types.h>
#include <linux/stddef.h>
#include <linux/build_bug.h>
#define PVKVM_STATIC_ASSERT(cond, msg) static_assert(cond, msg)
#else
#include <stddef.h>
#include <stdint.h>
#if defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
#define PVKVM_STATIC_ASSERT(cond, msg) _Static_assert(cond, msg)
#else
/* C99: a negative array size fails the build.  The typedef name must be
 * unique in the translation unit (C99 forbids repeating a typedef), and two
 * headers can assert on the same line number: __COUNTER__ where available. */
#define PVKVM_SA_CAT_(a, b) a##b
#define PVKVM_SA_CAT(a, b) PVKVM_SA_CAT_(a, b)
#ifdef __COUNTER__
#define PVKVM_SA_UNIQUE __COUNTER__
#else
#define PVKVM_SA_UNIQUE __LINE__
#endif
#define PVKVM_STATIC_ASSERT(cond, msg) \
	typedef char PVKVM_SA_CAT(pvkvm_static_assert_, PVKVM_SA_UNIQUE)[(cond) ? 1 : -1]
#endif
#endif

#define PVKVM_ASSERT_SIZE(type, size) \
	PVKVM_STATIC_ASSERT(sizeof(type) == (size), #type " size")
#define PVKVM_ASSERT_OFFSET(type, field, off) \
	PVKVM_STATIC_ASSERT(offsetof(type, field) == (off), #type "." #field " offset")

#endif
