// SPDX-License-Identifier: BSD-2-Clause
/*
 * --web-config FILE: TLS and basic auth for the Prometheus endpoint, in the file format of
 * Prometheus's own --web.config.file (its exporter toolkit), of which bpfmeter takes
 *
 *   tls_server_config:
 *     cert_file: server.crt     # PEM; a relative path is relative to FILE's folder
 *     key_file: server.key
 *   basic_auth_users:
 *     alice: $2y$10$...         # bcrypt, as htpasswd -B makes it
 *
 * Any other key is refused, named, rather than ignored: a setting that silently did nothing
 * (client certificates, say) would leave the endpoint open where its owner thinks it is not.
 * YAML is read with libyaml: quoting, comments and flow style are then as anywhere else.
 * Passwords are checked with crypt_r(3) (libxcrypt), which knows bcrypt.
 */
#include <crypt.h>
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "prom.h"
#include "util.h"

struct web_parse {
	const char *path;
	yaml_document_t doc;
	char *err;
	size_t errlen;
};

static int fail(struct web_parse *wp, const yaml_node_t *n, const char *fmt, const char *what)
{
	char msg[256];

	snprintf(msg, sizeof(msg), fmt, what);
	if (n)
		snprintf(wp->err, wp->errlen, "%s:%zu:%zu: %s", wp->path, n->start_mark.line + 1,
			 n->start_mark.column + 1, msg);
	else
		snprintf(wp->err, wp->errlen, "%s: %s", wp->path, msg);
	return -EINVAL;
}

/* A scalar's text, or NULL where n is not a scalar. */
static const char *scalar(const yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* A mapping, or an empty value ("key:" alone), which YAML reads as a null scalar. */
static bool is_empty(const yaml_node_t *n)
{
	const char *s = scalar(n);

	return s && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	       (!*s || !strcmp(s, "~") || !strcmp(s, "null"));
}

/* A file named in the config: relative to the config's folder, read whole. */
static int read_named(struct web_parse *wp, const yaml_node_t *n, const char *name, char **path,
		      char **text)
{
	char *dir = bm_strdup(wp->path), *p;
	FILE *f;
	size_t len = 0;
	char *buf = NULL;
	int err;

	if (name[0] == '/')
		p = bm_strdup(name);
	else if (asprintf(&p, "%s/%s", dirname(dir), name) < 0)
		p = NULL;
	free(dir);
	if (!p)
		return fail(wp, n, "%s", strerror(ENOMEM));
	f = fopen(p, "re");
	err = f ? 0 : errno;
	if (f) {
		FILE *m = open_memstream(&buf, &len);
		char chunk[4096];
		size_t got;

		while (m && (got = fread(chunk, 1, sizeof(chunk), f)) > 0)
			fwrite(chunk, 1, got, m);
		if (ferror(f))
			err = errno ? errno : EIO; /* a folder, say: EISDIR */
		if ((!m || fclose(m)) && !err)
			err = ENOMEM;
		fclose(f);
	}
	if (err) {
		char msg[4200];

		snprintf(msg, sizeof(msg), "cannot read %s: %s", p, strerror(err));
		free(buf);
		free(p);
		return fail(wp, n, "%s", msg);
	}
	*path = p;
	*text = buf;
	return 0;
}

static int parse_tls(struct web_parse *wp, const yaml_node_t *n, struct prom_web_config *wc)
{
	const yaml_node_t *cert = NULL, *key = NULL;

	if (is_empty(n))
		return fail(wp, n, "%s", "tls_server_config needs cert_file and key_file");
	if (n->type != YAML_MAPPING_NODE)
		return fail(wp, n, "%s",
			    "tls_server_config is not a mapping (cert_file, key_file)");
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
	     p++) {
		const yaml_node_t *k = yaml_document_get_node(&wp->doc, p->key);
		const yaml_node_t *v = yaml_document_get_node(&wp->doc, p->value);
		const char *ks = scalar(k);

		if (ks && !strcmp(ks, "cert_file"))
			cert = v;
		else if (ks && !strcmp(ks, "key_file"))
			key = v;
		else
			return fail(wp, k,
				    "tls_server_config: '%s' is not supported by bpfmeter (only "
				    "cert_file and key_file)",
				    ks ? ks : "?");
		if (!scalar(v) || is_empty(v))
			return fail(wp, v, "tls_server_config: %s is not a file name", ks);
	}
	if (!cert || !key)
		return fail(wp, n, "tls_server_config: %s is missing",
			    cert ? "key_file" : "cert_file");
	if (read_named(wp, cert, scalar(cert), &wc->cert_file, &wc->cert_pem) ||
	    read_named(wp, key, scalar(key), &wc->key_file, &wc->key_pem))
		return -EINVAL;
	return 0;
}

/* bcrypt's forms: $2a$, $2b$ or $2y$, two digits of cost, 53 characters of salt and hash. */
static bool is_bcrypt(const char *h)
{
	return strlen(h) == 60 && h[0] == '$' && h[1] == '2' && strchr("aby", h[2]) && h[2] &&
	       h[3] == '$' && crypt_checksalt(h) == CRYPT_SALT_OK;
}

static int parse_users(struct web_parse *wp, const yaml_node_t *n, struct prom_web_config *wc)
{
	if (is_empty(n))
		return 0;
	if (n->type != YAML_MAPPING_NODE)
		return fail(wp, n, "%s", "basic_auth_users is not a mapping of user: bcrypt hash");
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
	     p++) {
		const yaml_node_t *k = yaml_document_get_node(&wp->doc, p->key);
		const yaml_node_t *v = yaml_document_get_node(&wp->doc, p->value);
		const char *user = scalar(k), *hash = scalar(v);

		if (!user || !*user)
			return fail(wp, k, "%s", "basic_auth_users: a user name is not a string");
		if (strchr(user, ':'))
			return fail(wp, k, "basic_auth_users: '%s': a user name cannot hold ':'",
				    user);
		if (!hash || !is_bcrypt(hash))
			return fail(wp, v ? v : k,
				    "basic_auth_users: the password of '%s' is not a bcrypt hash "
				    "($2y$..., as htpasswd -nB makes it)",
				    user);
		for (size_t i = 0; i < wc->nusers; i++)
			if (!strcmp(wc->users[i].name, user))
				return fail(wp, k, "basic_auth_users: '%s' is listed twice", user);
		wc->users = bm_realloc_array(wc->users, wc->nusers + 1, sizeof(*wc->users));
		wc->users[wc->nusers++] =
			(struct prom_user){ .name = bm_strdup(user), .hash = bm_strdup(hash) };
	}
	return 0;
}

static int parse_root(struct web_parse *wp, struct prom_web_config *wc)
{
	const yaml_node_t *root = yaml_document_get_root_node(&wp->doc);
	bool seen_tls = false, seen_users = false;

	if (!root || is_empty(root))
		return 0; /* an empty file: plain HTTP, no authentication, as Prometheus reads it */
	if (root->type != YAML_MAPPING_NODE)
		return fail(wp, root, "%s",
			    "not a mapping (tls_server_config:, basic_auth_users:)");
	for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top;
	     p++) {
		const yaml_node_t *k = yaml_document_get_node(&wp->doc, p->key);
		const yaml_node_t *v = yaml_document_get_node(&wp->doc, p->value);
		const char *ks = scalar(k);
		int ret;

		if (ks && !strcmp(ks, "tls_server_config") && !seen_tls) {
			seen_tls = true;
			ret = parse_tls(wp, v, wc);
		} else if (ks && !strcmp(ks, "basic_auth_users") && !seen_users) {
			seen_users = true;
			ret = parse_users(wp, v, wc);
		} else if (ks &&
			   (!strcmp(ks, "tls_server_config") || !strcmp(ks, "basic_auth_users"))) {
			ret = fail(wp, k, "'%s' is given twice", ks);
		} else {
			ret = fail(wp, k,
				   "'%s' is not supported by bpfmeter (only tls_server_config: "
				   "cert_file, key_file; basic_auth_users)",
				   ks ? ks : "?");
		}
		if (ret)
			return ret;
	}
	return 0;
}

int prom_web_config_load(const char *path, struct prom_web_config *wc, char *err, size_t errlen)
{
	struct web_parse wp = { .path = path, .err = err, .errlen = errlen };
	yaml_parser_t parser;
	FILE *f;
	int ret;

	memset(wc, 0, sizeof(*wc));
	f = fopen(path, "re");
	if (!f) {
		snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
		return -EINVAL;
	}
	if (!yaml_parser_initialize(&parser)) {
		fclose(f);
		snprintf(err, errlen, "%s: %s", path, strerror(ENOMEM));
		return -EINVAL;
	}
	yaml_parser_set_input_file(&parser, f);
	if (!yaml_parser_load(&parser, &wp.doc)) {
		snprintf(err, errlen, "%s:%zu:%zu: not YAML: %s", path,
			 parser.problem_mark.line + 1, parser.problem_mark.column + 1,
			 parser.problem ? parser.problem : "a parse error");
		yaml_parser_delete(&parser);
		fclose(f);
		return -EINVAL;
	}
	ret = parse_root(&wp, wc);
	yaml_document_delete(&wp.doc);
	yaml_parser_delete(&parser);
	fclose(f);
	if (ret)
		prom_web_config_free(wc); /* nothing of a config that does not load */
	else
		wc->path = bm_strdup(path);
	return ret;
}

void prom_web_config_free(struct prom_web_config *wc)
{
	free(wc->path);
	free(wc->cert_file);
	free(wc->key_file);
	free(wc->cert_pem);
	if (wc->key_pem)
		explicit_bzero(wc->key_pem, strlen(wc->key_pem));
	free(wc->key_pem);
	for (size_t i = 0; i < wc->nusers; i++) {
		free(wc->users[i].name);
		free(wc->users[i].hash);
	}
	free(wc->users);
	memset(wc, 0, sizeof(*wc));
}

/* Equal strings, in a time that depends on their lengths only. */
static bool same(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned char d = la != lb;

	for (size_t i = 0; i < la && i < lb; i++)
		d |= (unsigned char)(a[i] ^ b[i]);
	return !d;
}

int prom_web_check(const struct prom_web_config *wc, const char *user, const char *pass,
		   struct crypt_data *data)
{
	/* An unknown user costs a hash as a known one does: the time tells no names. */
	static const char dummy[] = "$2b$10$duYC6.k.PyA6oWPEb/YOteVFijgAKDVdpnvPZEDMp3E66QEdLjnau";
	const char *hash = dummy, *got;
	int idx = -1;

	for (size_t i = 0; i < wc->nusers; i++)
		if (!strcmp(wc->users[i].name, user)) {
			hash = wc->users[i].hash;
			idx = (int)i;
		}
	got = crypt_r(pass, hash, data);
	if (!got || got[0] == '*' || !same(got, hash))
		return -1;
	return idx;
}
