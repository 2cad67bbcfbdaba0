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
  try {
    HttpsClient c(client());
    return c.request("POST", "/validate" + query, body);
  } catch (const std::exception& e) {
    // A dropped connection is often podgate stopping (a sanitizer report halts it): say what it
    // logged, from the report's start when there is one, or the failure names only the symptom.
    const std::string log = process->stderr_text();
    constexpr std::size_t kShown = 12000;
    std::size_t from = log.find("==================\nWARNING: ThreadSanitizer");
    if (from == std::string::npos) from = log.find("ERROR: AddressSanitizer");
    if (from == std::string::npos) from = log.size() > kShown ? log.size() - kShown : 0;
    throw std::runtime_error(std::string(e.what()) + "\n--- podgate stderr ---\n" + log.substr(from, kShown));
  }
}

}  // namespace podgate::test
