/*
 * tls.c: roomd's certificate and key. Both files are read and checked
 * with OpenSSL before libwebsockets sees them, so a bad file fails the
 * start with its name and the reason; SIGHUP reads them again.
 *
 * Reloading: lws 4.1 builds the vhost's SSL_CTX from the files once. Its
 * lws_tls_cert_updated() rewrites that shared SSL_CTX in place from a
 * leaf certificate in memory (no chain, and a key of another type would
 * sit beside the old one). Instead roomd keeps the key pair it last loaded
 * and hands it to each new handshake from a certificate callback on the
 * vhost's SSL_CTX (SSL_use_cert_and_key on that connection's SSL alone).
 * A connection already open keeps the certificate it was made with, and
 * a failed reload keeps the pair in use.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "roomd.h"

/* A PEM file larger than this is not a certificate chain or a key. */
#define TLS_FILE_MAX (1 << 20)

struct tls_pair {
	X509 *cert;
	STACK_OF(X509) *chain;		/* the rest of the cert file */
	EVP_PKEY *key;
	char fingerprint[3 * 32];	/* SHA-256, AA:BB:..., for logs */
};

static struct tls_pair current;
static int have_current;
static SSL_CTX *live;			/* lws's, for the callback */

/* OpenSSL's reason for the last failure, or fallback. */
static const char *
ossl_reason(const char *fallback)
{
	unsigned long e = ERR_peek_last_error();
	const char *r = e != 0 ? ERR_reason_error_string(e) : NULL;

	return r != NULL ? r : fallback;
}

static void
pair_free(struct tls_pair *p)
{
	X509_free(p->cert);
	sk_X509_pop_free(p->chain, X509_free);
	EVP_PKEY_free(p->key);
	memset(p, 0, sizeof *p);
}

/* Read a whole file into a memory BIO; NULL with *cause. */
static BIO *
read_pem(const char *what, const char *path, char **cause)
{
	char chunk[4096];
	size_t n, total = 0;
	BIO *b;
	FILE *f;

	if ((f = fopen(path, "r")) == NULL) {
		xasprintf(cause, "%s '%s': cannot open: %s", what, path,
		    strerror(errno));
		return NULL;
	}
	b = BIO_new(BIO_s_mem());
	if (b == NULL)
		fatalx("BIO_new: out of memory");
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
		total += n;
		if (total > TLS_FILE_MAX) {
			xasprintf(cause, "%s '%s': over %d bytes, not a PEM "
			    "file", what, path, TLS_FILE_MAX);
			goto fail;
		}
		BIO_write(b, chunk, (int)n);
	}
	if (ferror(f)) {
		xasprintf(cause, "%s '%s': cannot read: %s", what, path,
		    strerror(errno));
		goto fail;
	}
	if (total == 0) {
		xasprintf(cause, "%s '%s': the file is empty", what, path);
		goto fail;
	}
	OPENSSL_cleanse(chunk, sizeof chunk);
	fclose(f);
	return b;
fail:
	OPENSSL_cleanse(chunk, sizeof chunk);
	fclose(f);
	BIO_free(b);
	return NULL;
}

/* Accept no passphrase: an encrypted key cannot be read unattended. */
static int
no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

static void
fingerprint(X509 *x, char *out, size_t outlen)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0, i;
	size_t off = 0;

	out[0] = '\0';
	if (X509_digest(x, EVP_sha256(), md, &n) != 1)
		return;
	for (i = 0; i < n && off + 3 < outlen; i++)
		off += (size_t)snprintf(out + off, outlen - off, "%s%02X",
		    i ? ":" : "", md[i]);
}

/* Load and check a certificate chain and its key; 0 or -1 with *cause. */
static int
pair_load(const char *certf, const char *keyf, struct tls_pair *p,
    char **cause)
{
	X509 *x;
	BIO *b;

	memset(p, 0, sizeof *p);
	ERR_clear_error();
	if ((b = read_pem("certificate file", certf, cause)) == NULL)
		return -1;
	p->cert = PEM_read_bio_X509(b, NULL, no_passphrase, NULL);
	if (p->cert == NULL) {
		xasprintf(cause, "certificate file '%s': no PEM certificate "
		    "in it (%s)", certf, ossl_reason("not PEM"));
		BIO_free(b);
		goto fail;
	}
	p->chain = sk_X509_new_null();
	while ((x = PEM_read_bio_X509(b, NULL, no_passphrase, NULL)) != NULL)
		sk_X509_push(p->chain, x);
	BIO_free(b);
	ERR_clear_error();	/* the end of the file reads as an error */

	if ((b = read_pem("key file", keyf, cause)) == NULL)
		goto fail;
	p->key = PEM_read_bio_PrivateKey(b, NULL, no_passphrase, NULL);
	BIO_free(b);
	if (p->key == NULL) {
		xasprintf(cause, "key file '%s': no unencrypted PEM private "
		    "key in it (%s)", keyf, ossl_reason("not PEM"));
		goto fail;
	}
	if (X509_check_private_key(p->cert, p->key) != 1) {
		xasprintf(cause, "key file '%s' does not match the "
		    "certificate in '%s'", keyf, certf);
		goto fail;
	}
	fingerprint(p->cert, p->fingerprint, sizeof p->fingerprint);
	ERR_clear_error();
	return 0;
fail:
	ERR_clear_error();
	pair_free(p);
	return -1;
}

static void
log_pair(const char *verb, const struct tls_pair *p)
{
	const ASN1_TIME *na = X509_get0_notAfter(p->cert);
	char subject[256], until[64] = "?";
	BIO *b;
	int n;

	X509_NAME_oneline(X509_get_subject_name(p->cert), subject,
	    sizeof subject);
	if ((b = BIO_new(BIO_s_mem())) != NULL) {
		if (ASN1_TIME_print(b, na) == 1 &&
		    (n = BIO_read(b, until, sizeof until - 1)) > 0)
			until[n] = '\0';
		BIO_free(b);
	}
	log_info("tls: %s certificate %s (%s, sha256 %s, until %s)", verb,
	    cfg.tls_cert, subject, p->fingerprint, until);
	if (X509_cmp_current_time(na) < 0)
		log_warnx("tls: certificate %s expired on %s", cfg.tls_cert,
		    until);
}

int
tls_check(char **cause)
{
	if (cfg.tls_cert == NULL)
		return 0;
	if (pair_load(cfg.tls_cert, cfg.tls_key, &current, cause) != 0)
		return -1;
	have_current = 1;
	return 0;
}

void
tls_start_log(void)
{
	if (have_current)
		log_pair("serving", &current);
}

/*
 * Every new handshake gets the pair loaded last, on its own SSL; 1 goes
 * on, 0 fails the handshake.
 */
static int
cert_cb(SSL *ssl, void *arg)
{
	(void)arg;
	if (!have_current)
		return 1;
	SSL_certs_clear(ssl);
	return SSL_use_cert_and_key(ssl, current.cert, current.key,
	    current.chain, 1) == 1;
}

void
tls_attach(void *p)
{
	SSL_CTX *ctx = p;

	if (ctx == NULL || ctx == live)
		return;
	live = ctx;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_cert_cb(ctx, cert_cb, NULL);
}

int
tls_attached(void)
{
	return live != NULL;
}

void
tls_reload(void)
{
	struct tls_pair p;
	char *cause = NULL;

	if (cfg.tls_cert == NULL) {
		log_info("SIGHUP: no --tls-cert, nothing to reload");
		return;
	}
	if (pair_load(cfg.tls_cert, cfg.tls_key, &p, &cause) != 0) {
		log_error("tls: reload failed, keeping the certificate in "
		    "use: %s", cause);
		free(cause);
		return;
	}
	/* Connections that took the old pair hold their own references. */
	pair_free(&current);
	current = p;
	have_current = 1;
	stats.tls_reloads++;
	log_pair("reloaded", &current);
}

void
tls_free(void)
{
	if (have_current)
		pair_free(&current);
	have_current = 0;
	live = NULL;
}
