#pragma once
// `podgate serve` (the built binary) on free loopback ports with a fresh certificate, for
// integration tests; killed on destruction.

#include <memory>
#include <string>

#include "support/https_client.h"
#include "support/process.h"
#include "support/temp_dir.h"
#include "support/tls_certs.h"

namespace podgate::test {

struct ServedPodgate {
  TempDir dir{"podgate-served"};
  CertificateAuthority ca;
  ServerCertFiles certs;
  unsigned short port = free_port();
  unsigned short metricsPort = free_port();
  std::unique_ptr<Process> process;

  // Writes `configYaml` (when not empty) to podgate.yaml and starts podgate with --config; waits
  // for "podgate started" (throws std::runtime_error if it does not come within 20 s).
  explicit ServedPodgate(const std::string& configYaml = "");
  std::string config_path() const { return dir.file("podgate.yaml"); }
  // Client options that trust this server's certificate.
  ClientOptions client() const;
  // One POST /validate<query> on a new connection.
  Response validate(const std::string& body, const std::string& query = "") const;
};

}  // namespace podgate::test
