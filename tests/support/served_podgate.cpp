#include "support/served_podgate.h"

#include <stdexcept>

namespace podgate::test {

using namespace std::chrono_literals;

ServedPodgate::ServedPodgate(const std::string& configYaml) {
  certs = write_server_certificate(ca, dir.path());
  std::vector<std::string> args{PODGATE_BINARY, "serve",
                                "--listen", "127.0.0.1:" + std::to_string(port),
                                "--metrics-listen", "127.0.0.1:" + std::to_string(metricsPort),
                                "--tls-cert", certs.certFile, "--tls-key", certs.keyFile};
  if (!configYaml.empty()) {
    write_file(config_path(), configYaml);
    args.push_back("--config");
    args.push_back(config_path());
  }
  process = std::make_unique<Process>(args);
  if (!process->wait_for_output("podgate started", 20s))
    throw std::runtime_error("podgate serve did not start: " + process->stderr_text());
}

ClientOptions ServedPodgate::client() const {
  ClientOptions o;
  o.port = port;
  o.caFile = certs.caFile;
  o.timeout = 30s;
  return o;
}

Response ServedPodgate::validate(const std::string& body, const std::string& query) const {
  HttpsClient c(client());
  return c.request("POST", "/validate" + query, body);
}

}  // namespace podgate::test
