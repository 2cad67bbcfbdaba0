#pragma once
// Internal to the server: building a TLS server context from the configured files, and watching
// those files for rotation. Not part of the public contract (server.h is).

#include <array>
#include <boost/asio/ssl/context.hpp>
#include <memory>
#include <string>

#include "config/config.h"
#include "log/log.h"
#include "metrics/metrics.h"

namespace podgate::server::detail {

struct CertificateInfo {
  long long notAfter = 0;  // unix seconds
  std::string subject;     // RFC 2253
  std::string serial;      // hex
};

struct TlsContext {
  std::shared_ptr<boost::asio::ssl::context> context;
  CertificateInfo certificate;
};

// The contents of the configured files, read once, so what is hashed is exactly what is loaded.
struct TlsFiles {
  std::string cert, key, clientCa;
  std::array<unsigned char, 32> digest{};  // SHA-256 over all three, to notice any change
};

// Reads the files (following symlinks); throws std::runtime_error naming the unreadable file.
TlsFiles read_tls_files(const config::TlsConfig& tls);
// Builds a fresh server context: TLS 1.2+ (or 1.3+), ECDHE+AEAD ciphers for 1.2, no renegotiation,
// ALPN http/1.1 only, the chain and a key that must match it, and the client CA when configured.
// Throws std::runtime_error with a message naming the file at fault.
TlsContext build_tls_context(const config::TlsConfig& tls, const TlsFiles& files);

// Owns the serving context and notices rotated files. Not thread-safe: the server calls it from one
// thread only (the acceptor's), which is also the only reader of current().
class CertificateStore {
 public:
  // Loads the files now; throws std::runtime_error when they are unusable.
  CertificateStore(config::TlsConfig tls, metrics::Metrics& metrics, log::Logger& logger);

  const std::shared_ptr<boost::asio::ssl::context>& current() const { return current_; }
  const CertificateInfo& certificate() const { return info_; }

  // Re-reads the files; when their contents changed and the new set loads completely, swaps it in.
  // A set that fails is not retried until the files change again; each distinct failure is logged
  // once. Returns true when a new context was swapped in. Never throws.
  bool reload_if_changed();

 private:
  // Makes a freshly built context the current one: records its digest, expiry gauge and a log line.
  void adopt(TlsContext built, const std::array<unsigned char, 32>& digest, const char* event);

  config::TlsConfig tls_;
  metrics::Metrics& metrics_;
  log::Logger& logger_;
  std::shared_ptr<boost::asio::ssl::context> current_;
  CertificateInfo info_;
  std::array<unsigned char, 32> loadedDigest_{};
  std::array<unsigned char, 32> failedDigest_{};
  bool hasFailedDigest_ = false;
  std::string lastFailure_;
};

}  // namespace podgate::server::detail
