#pragma once
// Test certificates made with the OpenSSL C API: a CA, server leaves (SAN localhost, 127.0.0.1)
// and client certificates, as PEM text or files.

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace podgate::test {

enum class KeyType { EcdsaP256, Rsa2048 };

struct CertificateRequest {
  std::string commonName = "localhost";
  std::vector<std::string> dnsNames{"localhost"};
  std::vector<std::string> ipAddresses{"127.0.0.1"};
  std::chrono::seconds validFor{std::chrono::hours(24)};  // notAfter = now + validFor
  KeyType keyType = KeyType::EcdsaP256;
  bool clientAuth = false;  // extendedKeyUsage clientAuth (a client certificate) instead of serverAuth
};

struct IssuedCertificate {
  std::string certPem;
  std::string keyPem;
  std::string serial;     // uppercase hex, as BN_bn2hex prints it
  long long notAfter = 0; // unix seconds
};

class CertificateAuthority {
 public:
  explicit CertificateAuthority(std::string commonName = "podgate test CA", KeyType keyType = KeyType::EcdsaP256);
  ~CertificateAuthority();
  CertificateAuthority(const CertificateAuthority&) = delete;
  CertificateAuthority& operator=(const CertificateAuthority&) = delete;

  const std::string& certPem() const { return certPem_; }
  IssuedCertificate issue(const CertificateRequest& request = {}) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string certPem_;
};

// A CA file plus a server leaf and its key, written as PEM into `dir` (ca.crt, tls.crt, tls.key).
struct ServerCertFiles {
  std::string caFile, certFile, keyFile;
  IssuedCertificate leaf;
};
ServerCertFiles write_server_certificate(const CertificateAuthority& ca, const std::string& dir,
                                         const CertificateRequest& request = {});

// Serial (uppercase hex) and notAfter (unix seconds) of the first certificate in a PEM text.
std::string certificate_serial(const std::string& certPem);
long long certificate_not_after(const std::string& certPem);

}  // namespace podgate::test
