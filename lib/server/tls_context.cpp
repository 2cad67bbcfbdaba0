// TLS server contexts from PEM files, and their hot reload when cert-manager (or a Kubernetes
// Secret volume) rotates the files.

#include "server/tls_context.h"

#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <stdexcept>

namespace podgate::server::detail {

namespace ssl = boost::asio::ssl;

namespace {

constexpr size_t kMaxPemFileBytes = 1024 * 1024;  // a chain is a few KiB; anything huge is a mistake

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct NameStackFree {
  void operator()(STACK_OF(X509_NAME) * s) const { sk_X509_NAME_pop_free(s, X509_NAME_free); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

std::string read_file(const std::string& path, const char* what) {
  auto fail = [&](int err) {
    return std::runtime_error(std::string("cannot load ") + what + " " + path + ": " + std::strerror(err));
  };
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw fail(errno);
  std::string data;
  struct stat st {};
  if (::fstat(fd, &st) == 0 && !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw std::runtime_error(std::string("cannot load ") + what + " " + path + ": not a regular file");
  }
  char chunk[16384];
  for (;;) {
    ssize_t n = ::read(fd, chunk, sizeof chunk);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      throw fail(err);
    }
    if (n == 0) break;
    data.append(chunk, static_cast<size_t>(n));
    if (data.size() > kMaxPemFileBytes) {
      ::close(fd);
      throw std::runtime_error(std::string("cannot load ") + what + " " + path + ": larger than 1 MiB");
    }
  }
  ::close(fd);
  return data;
}

// The most specific OpenSSL reason on the error queue (then clears it), for one-line messages.
std::string openssl_reason(const char* fallback) {
  unsigned long last = 0;
  while (unsigned long e = ERR_get_error()) last = e;
  if (last == 0) return fallback;
  const char* reason = ERR_reason_error_string(last);
  return reason ? reason : fallback;
}

BioPtr memory_bio(const std::string& data) {
  BioPtr bio(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
  if (!bio) throw std::runtime_error("out of memory creating a BIO");
  return bio;
}

// Never prompt on a terminal for a passphrase: an encrypted key is simply an error.
int no_password(char*, int, int, void*) { return -1; }

int select_http11(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in, unsigned inlen,
                  void*) {
  // Only HTTP/1.1 is served, so h2 is never selected; a client offering neither gets no ALPN.
  static const unsigned char kHttp11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  unsigned char* selected = nullptr;
  if (SSL_select_next_proto(&selected, outlen, kHttp11, sizeof kHttp11, in, inlen) == OPENSSL_NPN_NEGOTIATED) {
    *out = selected;
    return SSL_TLSEXT_ERR_OK;
  }
  return SSL_TLSEXT_ERR_NOACK;
}

void load_chain(SSL_CTX* ctx, const config::TlsConfig& tls, const std::string& pem) {
  auto fail = [&](const std::string& why) {
    return std::runtime_error("cannot load TLS certificate " + tls.certFile + ": " + why);
  };
  ERR_clear_error();
  BioPtr bio = memory_bio(pem);
  X509Ptr leaf(PEM_read_bio_X509_AUX(bio.get(), nullptr, no_password, nullptr));
  if (!leaf) throw fail("no PEM certificate found (" + openssl_reason("unreadable") + ")");
  if (SSL_CTX_use_certificate(ctx, leaf.get()) != 1) throw fail(openssl_reason("certificate refused"));
  SSL_CTX_clear_chain_certs(ctx);
  for (;;) {
    X509Ptr next(PEM_read_bio_X509(bio.get(), nullptr, no_password, nullptr));
    if (!next) break;
    if (SSL_CTX_add0_chain_cert(ctx, next.get()) != 1) throw fail(openssl_reason("chain certificate refused"));
    next.release();  // owned by the context now
  }
  // The loop ends on "no start line" at the end of the file; anything else is a damaged PEM block.
  unsigned long err = ERR_peek_last_error();
  if (err != 0 && !(ERR_GET_LIB(err) == ERR_LIB_PEM && ERR_GET_REASON(err) == PEM_R_NO_START_LINE)) {
    throw fail("damaged PEM block in the chain (" + openssl_reason("unreadable") + ")");
  }
  ERR_clear_error();
}

void load_key(SSL_CTX* ctx, const config::TlsConfig& tls, const std::string& pem) {
  ERR_clear_error();
  BioPtr bio = memory_bio(pem);
  PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_password, nullptr));
  if (!key) {
    throw std::runtime_error("cannot load TLS key " + tls.keyFile + ": no usable unencrypted PEM private key (" +
                             openssl_reason("unreadable") + ")");
  }
  if (SSL_CTX_use_PrivateKey(ctx, key.get()) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
    ERR_clear_error();
    throw std::runtime_error("TLS key " + tls.keyFile + " does not match certificate " + tls.certFile);
  }
}

void load_client_ca(SSL_CTX* ctx, const config::TlsConfig& tls, const std::string& pem) {
  ERR_clear_error();
  BioPtr bio = memory_bio(pem);
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  std::unique_ptr<STACK_OF(X509_NAME), NameStackFree> names(sk_X509_NAME_new_null());
  if (!names) throw std::runtime_error("out of memory loading the client CA");
  int count = 0;
  for (;;) {
    X509Ptr ca(PEM_read_bio_X509(bio.get(), nullptr, no_password, nullptr));
    if (!ca) break;
    if (X509_STORE_add_cert(store, ca.get()) != 1) {
      throw std::runtime_error("cannot load TLS client CA " + tls.clientCaFile + ": " +
                               openssl_reason("certificate refused"));
    }
    if (X509_NAME* name = X509_NAME_dup(X509_get_subject_name(ca.get()))) sk_X509_NAME_push(names.get(), name);
    ++count;
  }
  ERR_clear_error();
  if (count == 0) throw std::runtime_error("cannot load TLS client CA " + tls.clientCaFile + ": no PEM certificate found");
  SSL_CTX_set_client_CA_list(ctx, names.release());
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
}

CertificateInfo describe(SSL_CTX* ctx) {
  CertificateInfo info;
  X509* leaf = SSL_CTX_get0_certificate(ctx);
  if (!leaf) return info;
  struct tm tm {};
  if (ASN1_TIME_to_tm(X509_get0_notAfter(leaf), &tm) == 1) info.notAfter = static_cast<long long>(timegm(&tm));
  if (BioPtr out{BIO_new(BIO_s_mem())}) {
    X509_NAME_print_ex(out.get(), X509_get_subject_name(leaf), 0, XN_FLAG_RFC2253);
    char* data = nullptr;
    long len = BIO_get_mem_data(out.get(), &data);
    if (data && len > 0) info.subject.assign(data, static_cast<size_t>(len));
  }
  if (BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(leaf), nullptr)) {
    if (char* hex = BN_bn2hex(bn)) {
      info.serial = hex;
      OPENSSL_free(hex);
    }
    BN_free(bn);
  }
  ERR_clear_error();
  return info;
}

std::array<unsigned char, 32> sha256(std::initializer_list<std::string_view> parts) {
  std::array<unsigned char, 32> digest{};
  EVP_MD_CTX* md = EVP_MD_CTX_new();
  if (!md) return digest;
  unsigned int len = 0;
  if (EVP_DigestInit_ex(md, EVP_sha256(), nullptr) == 1) {
    for (auto part : parts) {
      // Length-prefix each part, so moving bytes between files still changes the digest.
      unsigned long long size = part.size();
      EVP_DigestUpdate(md, &size, sizeof size);
      EVP_DigestUpdate(md, part.data(), part.size());
    }
    EVP_DigestFinal_ex(md, digest.data(), &len);
  }
  EVP_MD_CTX_free(md);
  return digest;
}

}  // namespace

TlsFiles read_tls_files(const config::TlsConfig& tls) {
  TlsFiles files;
  files.cert = read_file(tls.certFile, "TLS certificate");
  files.key = read_file(tls.keyFile, "TLS key");
  if (!tls.clientCaFile.empty()) files.clientCa = read_file(tls.clientCaFile, "TLS client CA");
  files.digest = sha256({files.cert, files.key, files.clientCa});
  return files;
}

TlsContext build_tls_context(const config::TlsConfig& tls, const TlsFiles& files) {
  auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX* ctx = context->native_handle();

  const int min_version = tls.minVersion == "1.3" ? TLS1_3_VERSION : TLS1_2_VERSION;
  if (SSL_CTX_set_min_proto_version(ctx, min_version) != 1) throw std::runtime_error("cannot set the minimum TLS version");
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION |
                               SSL_OP_SINGLE_ECDH_USE);
  // TLS 1.2: forward secrecy and AEAD only. TLS 1.3 suites are all AEAD; OpenSSL's defaults stand.
  static const char kTls12Ciphers[] =
      "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
      "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
      "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
  if (SSL_CTX_set_cipher_list(ctx, kTls12Ciphers) != 1) throw std::runtime_error("cannot set the TLS 1.2 ciphers");
  if (SSL_CTX_set1_groups_list(ctx, "X25519:P-256:P-384") != 1) throw std::runtime_error("cannot set the TLS groups");
  // Needed for session resumption whenever client certificates are verified; harmless otherwise.
  static const unsigned char kSessionContext[] = "podgate";
  SSL_CTX_set_session_id_context(ctx, kSessionContext, sizeof kSessionContext - 1);
  SSL_CTX_set_alpn_select_cb(ctx, select_http11, nullptr);
  SSL_CTX_set_default_passwd_cb(ctx, no_password);
  // Shrink per-connection memory: buffers are released while a keep-alive connection idles.
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);

  load_chain(ctx, tls, files.cert);
  load_key(ctx, tls, files.key);
  if (!tls.clientCaFile.empty()) load_client_ca(ctx, tls, files.clientCa);

  TlsContext result;
  result.certificate = describe(ctx);
  result.context = std::move(context);
  return result;
}

CertificateStore::CertificateStore(config::TlsConfig tls, metrics::Metrics& metrics, log::Logger& logger)
    : tls_(std::move(tls)), metrics_(metrics), logger_(logger) {
  TlsFiles files = read_tls_files(tls_);
  adopt(build_tls_context(tls_, files), files.digest, "TLS certificate loaded");
}

void CertificateStore::adopt(TlsContext built, const std::array<unsigned char, 32>& digest, const char* event) {
  current_ = std::move(built.context);
  info_ = std::move(built.certificate);
  loadedDigest_ = digest;
  metrics_.set_certificate_expiry(static_cast<double>(info_.notAfter));
  logger_.line(log::Level::Info, event)
      .str("cert", tls_.certFile)
      .str("subject", info_.subject)
      .str("serial", info_.serial)
      .integer("notAfter", info_.notAfter);
}

bool CertificateStore::reload_if_changed() {
  std::array<unsigned char, 32> attempt{};
  std::string failure;
  try {
    TlsFiles files = read_tls_files(tls_);
    if (files.digest == loadedDigest_) return false;
    attempt = files.digest;
    if (hasFailedDigest_ && attempt == failedDigest_) return false;
    adopt(build_tls_context(tls_, files), attempt, "TLS certificate reloaded");
    hasFailedDigest_ = false;
    lastFailure_.clear();
    metrics_.count_certificate_reload(true);
    return true;
  } catch (const std::exception& e) {
    failure = e.what();
  } catch (...) {
    failure = "unknown error";
  }
  // An unreadable set has no digest of its own; the message stands in, so the same missing file
  // is not counted again on every tick.
  if (attempt == std::array<unsigned char, 32>{}) attempt = sha256({failure});
  if (hasFailedDigest_ && attempt == failedDigest_) return false;
  failedDigest_ = attempt;
  hasFailedDigest_ = true;
  try {
    metrics_.count_certificate_reload(false);
    if (failure != lastFailure_) {
      lastFailure_ = failure;
      logger_.line(log::Level::Warn, "TLS certificate reload failed; still serving the previous certificate")
          .str("error", failure)
          .str("serial", info_.serial);
    }
  } catch (...) {
    // Logging trouble must not stop the reload timer.
  }
  return false;
}

}  // namespace podgate::server::detail
