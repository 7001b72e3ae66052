// SPDX-License-Identifier: BSD-2-Clause
/*
 * libcurl (-o influx+http://...), libmicrohttpd (the Prometheus endpoint) and libsystemd
 * (sd_notify under Type=notify), loaded on their first call rather than linked: linked, they
 * and what they pull in (OpenSSL, GnuTLS, p11-kit, Kerberos, LDAP ...) are mapped and their
 * constructors run in every session, about 7 MB of RSS where none of them is used. These are
 * the functions bpfmeter calls, of the same names and types (the libraries' own headers
 * declare them), each forwarding to the library's. The static build links none of this file.
 */
#define CURL_DISABLE_TYPECHECK
#include <dlfcn.h>
#include <stdarg.h>
#include <stdlib.h>

#include <curl/curl.h>
#include <microhttpd.h>
#include <systemd/sd-daemon.h>

#include "util.h"

struct dynlib {
	const char *soname;
	void *handle;
};

static struct dynlib lib_curl = { .soname = "libcurl.so.4" };
static struct dynlib lib_mhd = { .soname = "libmicrohttpd.so.12" };
static struct dynlib lib_systemd = { .soname = "libsystemd.so.0" };

/* A library bpfmeter's package depends on is missing: as the dynamic loader would, stop. */
static void *dynlib_sym(struct dynlib *l, const char *name)
{
	void *h = __atomic_load_n(&l->handle, __ATOMIC_ACQUIRE), *sym;

	if (!h) {
		/* Two threads may both open it: dlopen() counts, the handle is the same. */
		h = dlopen(l->soname, RTLD_NOW | RTLD_LOCAL);
		if (!h) {
			bm_err("cannot load %s: %s", l->soname, dlerror());
			exit(1);
		}
		__atomic_store_n(&l->handle, h, __ATOMIC_RELEASE);
	}
	sym = dlsym(h, name);
	if (!sym) {
		bm_err("%s: no %s in it: %s", l->soname, name, dlerror());
		exit(1);
	}
	return sym;
}

/* The library's name, looked up once (the prom server's threads call too). */
#define DYN(lib, name)                                                          \
	({                                                                      \
		static __typeof__(name) *fn_;                                   \
		__typeof__(name) *f_ = __atomic_load_n(&fn_, __ATOMIC_ACQUIRE); \
		if (!f_) {                                                      \
			f_ = (__typeof__(name) *)dynlib_sym(&lib, #name);       \
			__atomic_store_n(&fn_, f_, __ATOMIC_RELEASE);           \
		}                                                               \
		f_;                                                             \
	})

CURLcode curl_global_init(long flags)
{
	return DYN(lib_curl, curl_global_init)(flags);
}

void curl_global_cleanup(void)
{
	DYN(lib_curl, curl_global_cleanup)();
}

CURL *curl_easy_init(void)
{
	return DYN(lib_curl, curl_easy_init)();
}

void curl_easy_cleanup(CURL *curl)
{
	DYN(lib_curl, curl_easy_cleanup)(curl);
}

CURLcode curl_easy_perform(CURL *curl)
{
	return DYN(lib_curl, curl_easy_perform)(curl);
}

/* One argument after the option, of the type the option's number range says (curl.h). */
CURLcode curl_easy_setopt(CURL *curl, CURLoption option, ...)
{
	__typeof__(curl_easy_setopt) *f = DYN(lib_curl, curl_easy_setopt);
	CURLcode ret;
	va_list ap;

	va_start(ap, option);
	if (option < CURLOPTTYPE_OBJECTPOINT)
		ret = f(curl, option, va_arg(ap, long));
	else if (option >= CURLOPTTYPE_OFF_T && option < CURLOPTTYPE_BLOB)
		ret = f(curl, option, va_arg(ap, curl_off_t));
	else /* objects, functions and blobs: pointers */
		ret = f(curl, option, va_arg(ap, void *));
	va_end(ap);
	return ret;
}

CURLcode curl_easy_getinfo(CURL *curl, CURLINFO info, ...)
{
	__typeof__(curl_easy_getinfo) *f = DYN(lib_curl, curl_easy_getinfo);
	CURLcode ret;
	va_list ap;

	va_start(ap, info);
	ret = f(curl, info, va_arg(ap, void *));
	va_end(ap);
	return ret;
}

const char *curl_easy_strerror(CURLcode code)
{
	return DYN(lib_curl, curl_easy_strerror)(code);
}

struct curl_slist *curl_slist_append(struct curl_slist *list, const char *s)
{
	return DYN(lib_curl, curl_slist_append)(list, s);
}

void curl_slist_free_all(struct curl_slist *list)
{
	DYN(lib_curl, curl_slist_free_all)(list);
}

void curl_free(void *p)
{
	DYN(lib_curl, curl_free)(p);
}

CURLU *curl_url(void)
{
	return DYN(lib_curl, curl_url)();
}

void curl_url_cleanup(CURLU *handle)
{
	DYN(lib_curl, curl_url_cleanup)(handle);
}

CURLU *curl_url_dup(CURLU *in)
{
	return DYN(lib_curl, curl_url_dup)(in);
}

CURLUcode curl_url_get(CURLU *handle, CURLUPart what, char **part, unsigned int flags)
{
	return DYN(lib_curl, curl_url_get)(handle, what, part, flags);
}

CURLUcode curl_url_set(CURLU *handle, CURLUPart what, const char *part, unsigned int flags)
{
	return DYN(lib_curl, curl_url_set)(handle, what, part, flags);
}

const char *curl_url_strerror(CURLUcode code)
{
	return DYN(lib_curl, curl_url_strerror)(code);
}

struct MHD_Daemon *MHD_start_daemon(unsigned int flags, uint16_t port, MHD_AcceptPolicyCallback apc,
				    void *apc_cls, MHD_AccessHandlerCallback dh, void *dh_cls, ...)
{
	struct MHD_Daemon *d;
	va_list ap;

	va_start(ap, dh_cls);
	d = DYN(lib_mhd, MHD_start_daemon_va)(flags, port, apc, apc_cls, dh, dh_cls, ap);
	va_end(ap);
	return d;
}

void MHD_stop_daemon(struct MHD_Daemon *daemon)
{
	DYN(lib_mhd, MHD_stop_daemon)(daemon);
}

MHD_socket MHD_quiesce_daemon(struct MHD_Daemon *daemon)
{
	return DYN(lib_mhd, MHD_quiesce_daemon)(daemon);
}

enum MHD_Result MHD_is_feature_supported(enum MHD_FEATURE feature)
{
	return DYN(lib_mhd, MHD_is_feature_supported)(feature);
}

struct MHD_Response *MHD_create_response_from_buffer(size_t size, void *buffer,
						     enum MHD_ResponseMemoryMode mode)
{
	return DYN(lib_mhd, MHD_create_response_from_buffer)(size, buffer, mode);
}

struct MHD_Response *MHD_create_response_from_iovec(const struct MHD_IoVec *iov,
						    unsigned int iovcnt,
						    MHD_ContentReaderFreeCallback free_cb,
						    void *cls)
{
	return DYN(lib_mhd, MHD_create_response_from_iovec)(iov, iovcnt, free_cb, cls);
}

enum MHD_Result MHD_add_response_header(struct MHD_Response *response, const char *header,
					const char *content)
{
	return DYN(lib_mhd, MHD_add_response_header)(response, header, content);
}

void MHD_destroy_response(struct MHD_Response *response)
{
	DYN(lib_mhd, MHD_destroy_response)(response);
}

enum MHD_Result MHD_queue_response(struct MHD_Connection *connection, unsigned int status_code,
				   struct MHD_Response *response)
{
	return DYN(lib_mhd, MHD_queue_response)(connection, status_code, response);
}

enum MHD_Result MHD_queue_basic_auth_fail_response(struct MHD_Connection *connection,
						   const char *realm, struct MHD_Response *response)
{
	return DYN(lib_mhd, MHD_queue_basic_auth_fail_response)(connection, realm, response);
}

char *MHD_basic_auth_get_username_password(struct MHD_Connection *connection, char **password)
{
	return DYN(lib_mhd, MHD_basic_auth_get_username_password)(connection, password);
}

void MHD_free(void *ptr)
{
	DYN(lib_mhd, MHD_free)(ptr);
}

/* Without $NOTIFY_SOCKET sd_notify() sends nothing and returns 0: no need to load it then. */
int sd_notify(int unset_environment, const char *state)
{
	if (!getenv("NOTIFY_SOCKET"))
		return 0;
	return DYN(lib_systemd, sd_notify)(unset_environment, state);
}
