// cosign.h: the tools, keys, signing and verifying, and the referrers-API registry. The registry
// objects (reading and rewriting what cosign wrote) are in cosign_objects.cpp.
#include "support/cosign.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <stdexcept>

#include "support/process.h"
#include "support/temp_dir.h"
#include "support/test_registry.h"

namespace podgate::test::cosign {

namespace {

using namespace std::chrono_literals;

std::string env_or_empty(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

// A variable that is unset means "skip"; one that is set must name an executable.
bool tool_available(const char* variable, const std::string& path) {
  if (path.empty()) {
    static std::once_flag warned;
    std::call_once(warned, [] {
      std::cerr << "\n*** WARN: PODGATE_COSIGN_BIN / PODGATE_CRANE_BIN / PODGATE_REFERRERS_REGISTRY_BIN unset: the "
                   "cosign signature tests are SKIPPED. Build the tools with `bash tests/e2e/build-cosign.sh` (needs Go "
                   ">= 1.26) and export the variables (bin dir on its last line), or run scripts/test.sh, which does. "
                   "***\n\n";
    });
    return false;
  }
  if (::access(path.c_str(), X_OK) != 0) {
    throw std::runtime_error(std::string(variable) + "=" + path + " is not an executable; run tests/e2e/build-cosign.sh");
  }
  return true;
}

std::string random_password() {
  unsigned char bytes[12];
  if (RAND_bytes(bytes, sizeof bytes) != 1) throw std::runtime_error("cosign support: RAND_bytes failed");
  std::string out;
  for (unsigned char b : bytes) {
    out += "0123456789abcdef"[b >> 4];
    out += "0123456789abcdef"[b & 15];
  }
  return out;
}

std::string require_cosign() {
  const std::string bin = tools().cosign;
  if (bin.empty()) throw std::runtime_error("cosign support: PODGATE_COSIGN_BIN is unset (call cosign::available() first)");
  return bin;
}

Result run_process(const std::string& what, std::vector<std::string> argv, std::chrono::milliseconds timeout) {
  Process child(std::move(argv));
  const auto code = child.wait_for(timeout);
  if (!code) throw std::runtime_error("cosign support: " + what + " did not finish in time: " + child.stderr_text());
  return {*code, child.stdout_text(), child.stderr_text()};
}

Key key_files(const std::string& dir, const std::string& name, const std::string& password) {
  Key key;
  key.privateKeyFile = dir + "/" + name + ".key";
  key.publicKeyFile = dir + "/" + name + ".pub";
  key.password = password;
  key.publicKeyPem = read_file(key.publicKeyFile);
  return key;
}

}  // namespace

Tools tools() {
  return {env_or_empty("PODGATE_COSIGN_BIN"), env_or_empty("PODGATE_CRANE_BIN"),
          env_or_empty("PODGATE_REFERRERS_REGISTRY_BIN")};
}

bool available() { return tool_available("PODGATE_COSIGN_BIN", tools().cosign); }

bool referrers_registry_available() {
  return tool_available("PODGATE_REFERRERS_REGISTRY_BIN", tools().referrersRegistry);
}

Endpoint endpoint(const TestRegistry& registry) {
  Endpoint e;
  e.host = registry.host();
  e.caFile = registry.ca_file();
  const RegistryOptions& options = registry.options();
  if (options.basicAuth || options.tokenAuth) {
    e.user = options.user;
    e.password = options.password;
  }
  e.tokenAuth = options.tokenAuth;
  return e;
}

std::string qualified(const Endpoint& registry, const std::string& repoRef) { return registry.host + "/" + repoRef; }

Result run_cosign(const Endpoint& registry, const std::vector<std::string>& args, const std::string& password) {
  // cosign gets a home of its own: no user docker config, no TUF cache, nothing written outside.
  // env(1) sets the variables: appended to the environment (Process's extraEnv) they would lose
  // to an inherited HOME, since Go keeps a variable's first occurrence.
  TempDir home("podgate-cosign-home");
  std::filesystem::create_directories(home.file("docker"));
  if (!registry.user.empty()) {
    const std::string auth = base64_encode(registry.user + ":" + registry.password);
    write_file(home.file("docker/config.json"), R"({"auths":{")" + registry.host + R"(":{"auth":")" + auth + R"("}}})");
  }
  std::vector<std::string> argv{"/usr/bin/env", "-u", "COSIGN_REPOSITORY", "-u", "COSIGN_EXPERIMENTAL",
                                "HOME=" + home.path(), "DOCKER_CONFIG=" + home.file("docker"),
                                "TUF_ROOT=" + home.file("sigstore"), "COSIGN_PASSWORD=" + password};
  // Go's crypto/x509 reads SSL_CERT_FILE instead of the system roots: the registry's CA only.
  if (!registry.caFile.empty()) argv.push_back("SSL_CERT_FILE=" + registry.caFile);
  argv.push_back(require_cosign());
  argv.insert(argv.end(), args.begin(), args.end());
  return run_process("cosign " + (args.empty() ? std::string() : args[0]), std::move(argv), 120s);
}

Key generate_key(const std::string& dir, const std::string& name) {
  const std::string password = random_password();
  // generate-key-pair writes cosign.key/cosign.pub in the working directory; --output-key-prefix names them.
  Result r = run_cosign(Endpoint{}, {"generate-key-pair", "--output-key-prefix", dir + "/" + name}, password);
  if (!r.ok()) throw std::runtime_error("cosign generate-key-pair failed: " + r.err);
  return key_files(dir, name, password);
}

Key import_openssl_key(const std::string& dir, const std::string& name) {
  const std::string ecKey = dir + "/" + name + "-openssl.pem";
  Result gen = run_process("openssl ecparam", {"/usr/bin/openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", ecKey}, 30s);
  if (!gen.ok()) throw std::runtime_error("openssl ecparam failed: " + gen.err);
  const std::string password = random_password();
  Result r = run_cosign(Endpoint{}, {"import-key-pair", "--key", ecKey, "--output-key-prefix", dir + "/" + name, "-y"},
                        password);
  if (!r.ok()) throw std::runtime_error("cosign import-key-pair failed: " + r.err);
  Key key = key_files(dir, name, password);
  key.opensslKeyFile = ecKey;
  return key;
}

void sign(const Endpoint& registry, const std::string& repoRef, const Key& key, Format format,
          const std::vector<std::string>& extraArgs) {
  std::vector<std::string> args{"sign", "--key", key.privateKeyFile, "--tlog-upload=false",
                                "--use-signing-config=false", "-y"};
  if (format == Format::Legacy) args.emplace_back("--new-bundle-format=false");
  if (registry.plainHttp) args.emplace_back("--allow-http-registry");
  args.insert(args.end(), extraArgs.begin(), extraArgs.end());
  args.push_back(qualified(registry, repoRef));
  Result r = run_cosign(registry, args, key.password);
  if (!r.ok()) {
    throw std::runtime_error("cosign sign " + qualified(registry, repoRef) + " exited " + std::to_string(r.code) +
                             ": " + r.err);
  }
}

void sign(const TestRegistry& registry, const std::string& repoRef, const Key& key, Format format,
          const std::vector<std::string>& extraArgs) {
  sign(endpoint(registry), repoRef, key, format, extraArgs);
}

Result verify(const Endpoint& registry, const std::string& repoRef, const Key& key,
              const std::vector<std::string>& extraArgs) {
  std::vector<std::string> args{"verify", "--key", key.publicKeyFile, "--insecure-ignore-tlog=true"};
  if (registry.plainHttp) args.emplace_back("--allow-http-registry");
  args.insert(args.end(), extraArgs.begin(), extraArgs.end());
  args.push_back(qualified(registry, repoRef));
  return run_cosign(registry, args);
}

Result verify(const TestRegistry& registry, const std::string& repoRef, const Key& key,
              const std::vector<std::string>& extraArgs) {
  return verify(endpoint(registry), repoRef, key, extraArgs);
}

// ---- ReferrersRegistry ----------------------------------------------------------------------------

ReferrersRegistry::ReferrersRegistry() {
  const std::string bin = tools().referrersRegistry;
  if (bin.empty()) throw std::runtime_error("ReferrersRegistry: PODGATE_REFERRERS_REGISTRY_BIN is unset");
  // setpriv: SIGKILL when the starting thread dies, so a crashed test leaves no registry behind.
  process_ = std::make_unique<Process>(
      std::vector<std::string>{"/usr/bin/setpriv", "--pdeathsig", "KILL", "--", bin, "--address", "127.0.0.1:0"});
  if (!process_->wait_for_output("listening on ", 15s)) {
    throw std::runtime_error("ReferrersRegistry: did not start: " + process_->stderr_text());
  }
  const std::string err = process_->stderr_text();
  const size_t at = err.find("listening on ") + 13;
  host_ = err.substr(at, err.find('\n', at) - at);
}

ReferrersRegistry::~ReferrersRegistry() = default;

Endpoint ReferrersRegistry::endpoint() const {
  Endpoint e;
  e.host = host_;
  e.plainHttp = true;
  return e;
}

// ---- base64 ---------------------------------------------------------------------------------------

std::string base64_encode(const std::string& bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

std::string base64_decode(const std::string& text) {
  if (text.size() % 4 != 0) throw std::runtime_error("base64_decode: length not a multiple of 4");
  std::string out(text.size() / 4 * 3 + 1, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  if (n < 0) throw std::runtime_error("base64_decode: invalid input");
  size_t size = static_cast<size_t>(n);
  // EVP_DecodeBlock counts the padding as zero bytes.
  for (size_t i = text.size(); i > 0 && text[i - 1] == '='; --i) --size;
  out.resize(size);
  return out;
}

}  // namespace podgate::test::cosign
