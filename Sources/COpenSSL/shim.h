// COpenSSL: the system OpenSSL (libssl-dev) for SSL_GET and the HTTP digest. Include, and wrap
// only the macros Swift cannot import; nothing here is ours.
#ifndef SWIFTLVS_COPENSSL_SHIM_H
#define SWIFTLVS_COPENSSL_SHIM_H
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/evp.h>

/// SSL_set_tlsext_host_name is a macro over SSL_ctrl: SNI for SSL_GET's `enable_sni`/`sni_name`
/// (keepalived check_ssl.c ssl_connect).
static inline int lvs_ssl_set_sni(SSL *ssl, const char *name) {
    return (int)SSL_set_tlsext_host_name(ssl, name);
}

/// SSL_set_mode is a macro over SSL_ctrl. SSL_MODE_ENABLE_PARTIAL_WRITE and
/// SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER let a non-blocking SSL_write resume from Swift arrays.
static inline void lvs_ssl_set_nonblocking_write_modes(SSL *ssl) {
    SSL_set_mode(ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
}

#endif
