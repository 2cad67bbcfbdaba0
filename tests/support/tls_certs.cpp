#include "support/tls_certs.h"

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <ctime>
#include <stdexcept>

#include "support/temp_dir.h"

namespace podgate::test {

namespace {

struct Free {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(X509* p) const { X509_free(p); }
  void operator()(BIO* p) const { BIO_free(p); }
  void operator()(BIGNUM* p) const { BN_free(p); }
  void operator()(X509_EXTENSION* p) const { X509_EXTENSION_free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, Free>;
using X509Ptr = std::unique_ptr<X509, Free>;
using BioPtr = std::unique_ptr<BIO, Free>;
using BnPtr = std::unique_ptr<BIGNUM, Free>;
using ExtPtr = std::unique_ptr<X509_EXTENSION, Free>;

[[noreturn]] void fail(const std::string& what) {
  char reason[256] = "unknown";
  if (unsigned long e = ERR_get_error()) ERR_error_string_n(e, reason, sizeof reason);
  ERR_clear_error();
  throw std::runtime_error("test certificates: " + what + ": " + reason);
}

PkeyPtr generate_key(KeyType type) {
  PkeyPtr key(type == KeyType::Rsa2048 ? EVP_RSA_gen(2048) : EVP_EC_gen("P-256"));
  if (!key) fail("key generation");
  return key;
}

void set_random_serial(X509* cert) {
  unsigned char bytes[8];
  if (RAND_bytes(bytes, sizeof bytes) != 1) fail("RAND_bytes");
  bytes[0] &= 0x7f;  // positive
  bytes[0] |= 0x01;  // and never short, so every serial has 16 hex digits
  BnPtr bn(BN_bin2bn(bytes, sizeof bytes, nullptr));
  if (!bn || !BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert))) fail("serial");
}

void add_extension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  ExtPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) fail("extension " + value);
}

X509Ptr new_certificate(const std::string& common_name, EVP_PKEY* key, std::chrono::seconds valid_for) {
  X509Ptr cert(X509_new());
  if (!cert) fail("X509_new");
  X509_set_version(cert.get(), 2);
  set_random_serial(cert.get());
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), static_cast<long>(valid_for.count()));
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("podgate tests"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(common_name.c_str()),
                             -1, -1, 0);
  if (X509_set_pubkey(cert.get(), key) != 1) fail("X509_set_pubkey");
  return cert;
}

std::string to_pem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) fail("PEM_write_bio_X509");
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

std::string to_pem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    fail("PEM_write_bio_PrivateKey");
  }
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

X509Ptr parse_pem(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  X509Ptr cert(bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!cert) fail("PEM_read_bio_X509");
  return cert;
}

std::string serial_hex(X509* cert) {
  BnPtr bn(ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr));
  if (!bn) fail("serial");
  char* hex = BN_bn2hex(bn.get());
  std::string out = hex ? hex : "";
  OPENSSL_free(hex);
  return out;
}

long long not_after(X509* cert) {
  struct tm tm {};
  if (ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) != 1) fail("notAfter");
  return static_cast<long long>(timegm(&tm));
}

}  // namespace

struct CertificateAuthority::Impl {
  PkeyPtr key;
  X509Ptr cert;
};

CertificateAuthority::CertificateAuthority(std::string commonName, KeyType keyType) : impl_(std::make_unique<Impl>()) {
  impl_->key = generate_key(keyType);
  impl_->cert = new_certificate(commonName, impl_->key.get(), std::chrono::hours(24 * 365));
  X509* cert = impl_->cert.get();
  if (X509_set_issuer_name(cert, X509_get_subject_name(cert)) != 1) fail("issuer");
  add_extension(cert, cert, NID_basic_constraints, "critical,CA:TRUE");
  add_extension(cert, cert, NID_key_usage, "critical,keyCertSign,cRLSign,digitalSignature");
  add_extension(cert, cert, NID_subject_key_identifier, "hash");
  add_extension(cert, cert, NID_authority_key_identifier, "keyid:always");
  if (X509_sign(cert, impl_->key.get(), EVP_sha256()) <= 0) fail("signing the CA");
  certPem_ = to_pem(cert);
}

CertificateAuthority::~CertificateAuthority() = default;

IssuedCertificate CertificateAuthority::issue(const CertificateRequest& request) const {
  PkeyPtr key = generate_key(request.keyType);
  X509Ptr cert = new_certificate(request.commonName, key.get(), request.validFor);
  X509* leaf = cert.get();
  if (X509_set_issuer_name(leaf, X509_get_subject_name(impl_->cert.get())) != 1) fail("issuer");
  add_extension(leaf, impl_->cert.get(), NID_basic_constraints, "critical,CA:FALSE");
  add_extension(leaf, impl_->cert.get(), NID_key_usage,
                request.keyType == KeyType::Rsa2048 ? "critical,digitalSignature,keyEncipherment"
                                                    : "critical,digitalSignature");
  add_extension(leaf, impl_->cert.get(), NID_ext_key_usage, request.clientAuth ? "clientAuth" : "serverAuth");
  add_extension(leaf, impl_->cert.get(), NID_subject_key_identifier, "hash");
  add_extension(leaf, impl_->cert.get(), NID_authority_key_identifier, "keyid:always");
  std::string san;
  for (const auto& dns : request.dnsNames) san += (san.empty() ? "" : ",") + std::string("DNS:") + dns;
  for (const auto& ip : request.ipAddresses) san += (san.empty() ? "" : ",") + std::string("IP:") + ip;
  if (!san.empty()) add_extension(leaf, impl_->cert.get(), NID_subject_alt_name, san);
  if (X509_sign(leaf, impl_->key.get(), EVP_sha256()) <= 0) fail("signing the leaf");

  IssuedCertificate issued;
  issued.certPem = to_pem(leaf);
  issued.keyPem = to_pem(key.get());
  issued.serial = serial_hex(leaf);
  issued.notAfter = not_after(leaf);
  return issued;
}

ServerCertFiles write_server_certificate(const CertificateAuthority& ca, const std::string& dir,
                                         const CertificateRequest& request) {
  ServerCertFiles files;
  files.caFile = dir + "/ca.crt";
  files.certFile = dir + "/tls.crt";
  files.keyFile = dir + "/tls.key";
  files.leaf = ca.issue(request);
  write_file(files.caFile, ca.certPem());
  write_file(files.certFile, files.leaf.certPem);
  write_file(files.keyFile, files.leaf.keyPem);
  return files;
}

std::string certificate_serial(const std::string& certPem) { return serial_hex(parse_pem(certPem).get()); }

long long certificate_not_after(const std::string& certPem) { return not_after(parse_pem(certPem).get()); }

}  // namespace podgate::test
