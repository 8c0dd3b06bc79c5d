/* SPDX-License-Identifier: MIT */
/*
 * printf for the mini-guest: %d %i %u %x %X %o %s %c %p %% with the length
 * modifiers hh h l ll z t j, a field width (or *), '0' and '-' flags and a
 * precision for strings.  No floating point.
 */
#include "mini/mini.h"

struct fmt_out {
	char *buf;
	size_t size, len;
};

static void out_char(struct fmt_out *o, char c)
{
	if (o->len + 1 < o->size)
		o->buf[o->len] = c;
	o->len++;
}

static void out_pad(struct fmt_out *o, char c, int n)
{
	while (n-- > 0)
		out_char(o, c);
}

struct fmt_spec {
	int width, prec;
	bool zero, left;
};

static void out_str(struct fmt_out *o, const struct fmt_spec *f, const char *s, size_t n)
{
	int pad = f->width > (int)n ? f->width - (int)n : 0;

	if (!f->left)
		out_pad(o, ' ', pad);
	for (size_t i = 0; i < n; i++)
		out_char(o, s[i]);
	if (f->left)
		out_pad(o, ' ', pad);
}

static void out_num(struct fmt_out *o, const struct fmt_spec *f, uint64_t v,
		    bool neg, unsigned base, bool upper, const char *prefix)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24];
	int n = 0, plen = (int)strlen(prefix) + (neg ? 1 : 0), pad;

	do {
		tmp[n++] = digits[v % base];
		v /= base;
	} while (v);
	pad = f->width > n + plen ? f->width - n - plen : 0;
	if (!f->left && !f->zero)
		out_pad(o, ' ', pad);
	if (neg)
		out_char(o, '-');
	while (*prefix)
		out_char(o, *prefix++);
	if (!f->left && f->zero)
		out_pad(o, '0', pad);
	while (n)
		out_char(o, tmp[--n]);
	if (f->left)
		out_pad(o, ' ', pad);
}

/* Reads the integer argument for length modifier lm ('H' hh, 'h', 0, 'l', 'L' ll, 'z'). */
static uint64_t arg_uint(va_list *ap, char lm)
{
	switch (lm) {
	case 'l': return va_arg(*ap, unsigned long);
	case 'L': return va_arg(*ap, unsigned long long);
	case 'z': return va_arg(*ap, size_t);
	case 'h': return (unsigned short)va_arg(*ap, unsigned int);
	case 'H': return (unsigned char)va_arg(*ap, unsigned int);
	default: return va_arg(*ap, unsigned int);
	}
}

static int64_t arg_int(va_list *ap, char lm)
{
	switch (lm) {
	case 'l': return va_arg(*ap, long);
	case 'L': return va_arg(*ap, long long);
	case 'z': return (int64_t)va_arg(*ap, size_t);
	case 'h': return (short)va_arg(*ap, int);
	case 'H': return (signed char)va_arg(*ap, int);
	default: return va_arg(*ap, int);
	}
}

static const char *parse_spec(const char *p, struct fmt_spec *f, char *lm, va_list *ap)
{
	*f = (struct fmt_spec){ .prec = -1 };
	for (;; p++) {
		if (*p == '0')
			f->zero = true;
		else if (*p == '-')
			f->left = true;
		else
			break;
	}
	if (*p == '*') {
		f->width = va_arg(*ap, int);
		p++;
	}
	while (*p >= '0' && *p <= '9')
		f->width = f->width * 10 + (*p++ - '0');
	if (*p == '.') {
		f->prec = 0;
		for (p++; *p >= '0' && *p <= '9'; p++)
			f->prec = f->prec * 10 + (*p - '0');
	}
	*lm = 0;
	if (p[0] == 'h' && p[1] == 'h') { *lm = 'H'; p += 2; }
	else if (p[0] == 'l' && p[1] == 'l') { *lm = 'L'; p += 2; }
	else if (*p == 'h' || *p == 'l' || *p == 'z') { *lm = *p++; }
	else if (*p == 't' || *p == 'j') { *lm = 'l'; p++; }
	return p;
}

static void format_one(struct fmt_out *o, char conv, struct fmt_spec *f, char lm, va_list *ap)
{
	switch (conv) {
	case 'd': case 'i': {
		int64_t v = arg_int(ap, lm);

		out_num(o, f, v < 0 ? -(uint64_t)v : (uint64_t)v, v < 0, 10, false, "");
		break;
	}
	case 'u': out_num(o, f, arg_uint(ap, lm), false, 10, false, ""); break;
	case 'x': out_num(o, f, arg_uint(ap, lm), false, 16, false, ""); break;
	case 'X': out_num(o, f, arg_uint(ap, lm), false, 16, true, ""); break;
	case 'o': out_num(o, f, arg_uint(ap, lm), false, 8, false, ""); break;
	case 'p':
		out_num(o, f, (uintptr_t)va_arg(*ap, void *), false, 16, false, "0x");
		break;
	case 'c': {
		char c = (char)va_arg(*ap, int);

		out_str(o, f, &c, 1);
		break;
	}
	case 's': {
		const char *s = va_arg(*ap, const char *);
		size_t n = 0;

		if (!s)
			s = "(null)";
		while (s[n] && (f->prec < 0 || n < (size_t)f->prec))
			n++;
		out_str(o, f, s, n);
		break;
	}
	case '%': out_char(o, '%'); break;
	default: /* unknown conversion: print it verbatim */
		out_char(o, '%');
		if (conv)
			out_char(o, conv);
	}
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct fmt_out o = { .buf = buf, .size = size };
	va_list aq;

	va_copy(aq, ap);
	for (const char *p = fmt; *p; p++) {
		struct fmt_spec f;
		char lm;

		if (*p != '%') {
			out_char(&o, *p);
			continue;
		}
		p = parse_spec(p + 1, &f, &lm, &aq);
		format_one(&o, *p, &f, lm, &aq);
		if (!*p)
			break;
	}
	va_end(aq);
	if (size)
		buf[o.len < size ? o.len : size - 1] = '\0';
	return (int)o.len;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

int printf(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	mini_console_write(buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
	return n;
}
