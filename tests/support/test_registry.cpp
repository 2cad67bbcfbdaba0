#include "support/test_registry.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "support/https_client.h"
#include "support/process.h"
#include "support/temp_dir.h"
#include "support/tls_certs.h"

namespace podgate::test {

namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

// The User-Agent of the fixture's own curl calls; with skopeo's ("skopeo/...") and the log-sync
// marker it is how the fixture's requests are told apart from the ones a test counts.
constexpr const char* kFixtureAgent = "podgate-test-registry-fixture";
constexpr const char* kSyncMarker = "podgate-fixture-sync=";
constexpr const char* kService = "podgate-test-registry";
constexpr const char* kIssuer = "podgate-test-token-issuer";
// What a resolver should send (registry.md): without the index types an index tag is a 404 here.
constexpr const char* kAcceptAll =
    "Accept: application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json, "
    "application/vnd.docker.distribution.manifest.v2+json";

// Debian's tools live in /usr/bin; PATH is the fallback (pyenv and the like put other python3s
// first on PATH, and the fixture wants the one install-deps.sh installs).
std::string find_program(const std::string& name) {
  for (const char* dir : {"/usr/bin", "/usr/sbin", "/bin"}) {
    std::string path = std::string(dir) + "/" + name;
    if (::access(path.c_str(), X_OK) == 0) return path;
  }
  if (const char* env = std::getenv("PATH")) {
    std::stringstream dirs(env);
    std::string dir;
    while (std::getline(dirs, dir, ':')) {
      std::string path = dir + "/" + name;
      if (!dir.empty() && ::access(path.c_str(), X_OK) == 0) return path;
    }
  }
  throw std::runtime_error("test registry: `" + name + "` not found; scripts/install-deps.sh installs it");
}

struct RunResult {
  int code = -1;
  std::string out, err;
};

RunResult run(std::vector<std::string> argv, std::chrono::milliseconds timeout = 30s) {
  std::string what = argv[0];
  for (size_t i = 1; what == "/usr/bin/env" && i < argv.size(); ++i) {
    if (argv[i].find('=') == std::string::npos) what = argv[i];  // the program env(1) runs
  }
  Process child(std::move(argv));
  auto code = child.wait_for(timeout);
  if (!code) throw std::runtime_error("test registry: " + what + " did not finish in time: " + child.stderr_text());
  return {*code, child.stdout_text(), child.stderr_text()};
}

std::string hex(const unsigned char* data, size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    out += digits[data[i] >> 4];
    out += digits[data[i] & 15];
  }
  return out;
}

std::string sha256_hex(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("test registry: sha256 failed");
  }
  return hex(md, len);
}

std::string random_hex(size_t bytes) {
  std::vector<unsigned char> buf(bytes);
  if (RAND_bytes(buf.data(), static_cast<int>(bytes)) != 1) throw std::runtime_error("test registry: RAND_bytes");
  return hex(buf.data(), bytes);
}

std::uint32_t crc32(std::string_view data) {
  std::uint32_t crc = 0xffffffffu;
  for (unsigned char c : data) {
    crc ^= c;
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

void put_le(std::string& out, std::uint32_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out += static_cast<char>((v >> (8 * i)) & 0xff);
}

// A gzip member holding `data` in stored (uncompressed) deflate blocks: valid gzip without zlib.
// Layers must really be gzip: skopeo compresses a layer it sees as uncompressed when pushing to a
// registry, which would change the manifest and so the digest.
std::string gzip_stored(std::string_view data) {
  std::string out("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff", 10);
  size_t pos = 0;
  do {
    const size_t n = std::min<size_t>(data.size() - pos, 65535);
    const bool last = pos + n == data.size();
    out += static_cast<char>(last ? 1 : 0);
    put_le(out, static_cast<std::uint32_t>(n), 2);
    put_le(out, static_cast<std::uint32_t>(~n & 0xffff), 2);
    out.append(data.substr(pos, n));
    pos += n;
  } while (pos < data.size());
  put_le(out, crc32(data), 4);
  put_le(out, static_cast<std::uint32_t>(data.size()), 4);
  return out;
}

// A ustar archive with one regular file.
std::string tar_one_file(const std::string& name, std::string_view content) {
  std::string header(512, '\0');
  auto field = [&](size_t offset, const std::string& value) { header.replace(offset, value.size(), value); };
  auto octal = [](unsigned long long v, int width) {
    std::string s(static_cast<size_t>(width - 1), '0');
    for (int i = width - 2; i >= 0 && v; --i, v >>= 3) s[static_cast<size_t>(i)] = static_cast<char>('0' + (v & 7));
    return s;  // the NUL after it is already in the header
  };
  field(0, name.substr(0, 99));
  field(100, octal(0644, 8));
  field(108, octal(0, 8));
  field(116, octal(0, 8));
  field(124, octal(content.size(), 12));
  field(136, octal(0, 12));
  field(148, std::string(8, ' '));
  header[156] = '0';
  field(257, std::string("ustar\0" "00", 8));
  unsigned sum = 0;
  for (unsigned char c : header) sum += c;
  field(148, octal(sum, 7));
  header[154] = '\0';
  header[155] = ' ';
  std::string out = header;
  out.append(content);
  out.append((512 - content.size() % 512) % 512, '\0');
  out.append(1024, '\0');
  return out;
}

struct Descriptor {
  std::string digest;
  size_t size = 0;
};

// An OCI image layout under construction: blobs go to blobs/sha256/<hex>.
class Layout {
 public:
  explicit Layout(std::string dir) : dir_(std::move(dir)) {
    fs::create_directories(dir_ + "/blobs/sha256");
    write_file(dir_ + "/oci-layout", R"({"imageLayoutVersion":"1.0.0"})");
  }
  const std::string& dir() const { return dir_; }

  Descriptor blob(const std::string& bytes) {
    const std::string h = sha256_hex(bytes);
    write_file(dir_ + "/blobs/sha256/" + h, bytes);
    return {"sha256:" + h, bytes.size()};
  }

  // One image manifest whose single layer holds `nonce`, so each call makes a new digest.
  Descriptor image(const std::string& arch, const std::string& nonce) {
    const std::string tar = tar_one_file("podgate-test-nonce", nonce + "\n");
    const Descriptor layer = blob(gzip_stored(tar));
    const Descriptor config = blob(R"({"architecture":")" + arch + R"(","os":"linux","config":{"Labels":{"io.podgate.test.nonce":")" +
                                   nonce + R"("}},"rootfs":{"type":"layers","diff_ids":["sha256:)" + sha256_hex(tar) +
                                   R"("]}})");
    return blob(R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",)"
                R"("config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":")" +
                config.digest + R"(","size":)" + std::to_string(config.size) +
                R"(},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":")" + layer.digest +
                R"(","size":)" + std::to_string(layer.size) + "}]}");
  }

  // index.json naming `top` "img" (skopeo's source is then oci:<dir>:img).
  void set_top(const std::string& mediaType, const Descriptor& top) {
    write_file(dir_ + "/index.json", R"({"schemaVersion":2,"manifests":[{"mediaType":")" + mediaType +
                                         R"(","digest":")" + top.digest + R"(","size":)" + std::to_string(top.size) +
                                         R"(,"annotations":{"org.opencontainers.image.ref.name":"img"}}]})");
  }

 private:
  std::string dir_;
};

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
      continue;
    }
    out += c;
  }
  return out + "\"";
}

// The string value of "key" in a flat JSON object (enough for a token response).
std::string json_field(const std::string& json, const std::string& key) {
  size_t pos = json.find("\"" + key + "\"");
  if (pos == std::string::npos) return "";
  pos = json.find(':', pos);
  if (pos == std::string::npos) return "";
  pos = json.find('"', pos);
  if (pos == std::string::npos) return "";
  const size_t end = json.find('"', pos + 1);
  return end == std::string::npos ? "" : json.substr(pos + 1, end - pos - 1);
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string part;
  std::stringstream in(s);
  while (std::getline(in, part, sep)) out.push_back(part);
  if (!s.empty() && s.back() == sep) out.emplace_back();
  return out;
}

bool is_fixture_agent(const std::string& ua) { return ua.rfind("skopeo/", 0) == 0 || ua == kFixtureAgent; }

// `127.0.0.1 - - [date] "HEAD /v2/a/manifests/b HTTP/1.1" 200 0 "referer" "user agent"`
// (gorilla's CombinedLoggingHandler, referer and agent quoted Go-style).
bool parse_access_line(const std::string& line, AccessLogEntry& entry) {
  const size_t q1 = line.find('"');
  if (q1 == std::string::npos) return false;
  const size_t q2 = line.find('"', q1 + 1);
  if (q2 == std::string::npos) return false;
  std::istringstream request(line.substr(q1 + 1, q2 - q1 - 1));
  std::string proto;
  if (!(request >> entry.method >> entry.target >> proto)) return false;
  std::istringstream rest(line.substr(q2 + 1));
  if (!(rest >> entry.status)) return false;
  entry.path = entry.target.substr(0, entry.target.find('?'));
  entry.userAgent.clear();
  if (line.size() >= 2 && line.back() == '"') {
    size_t open = line.size() - 1;
    while (open > q2) {
      open = line.rfind('"', open - 1);
      if (open == std::string::npos || open <= q2) break;
      if (line[open - 1] != '\\') {
        std::string raw = line.substr(open + 1, line.size() - open - 2);
        for (size_t i = 0; i < raw.size(); ++i) {
          if (raw[i] == '\\' && i + 1 < raw.size()) ++i;
          entry.userAgent += raw[i];
        }
        break;
      }
    }
  }
  entry.byFixture = is_fixture_agent(entry.userAgent) || entry.target.find(kSyncMarker) != std::string::npos;
  return true;
}

}  // namespace

// ---------------------------------------------------------------------------------------------

TestRegistry::TestRegistry(RegistryOptions options)
    : options_(std::move(options)), dir_(std::make_unique<TempDir>("podgate-registry")) {
  if (options_.basicAuth && options_.tokenAuth) {
    throw std::invalid_argument("test registry: basicAuth and tokenAuth are exclusive");
  }
  CertificateAuthority ca("podgate test registry CA");
  caPem_ = ca.certPem();
  ServerCertFiles tls = write_server_certificate(ca, dir_->path());
  caFile_ = tls.caFile;

  // skopeo gets a home of its own: it must not read or write the user's containers config.
  const std::string home = dir_->file("skopeo");
  for (const char* sub : {"certs", "run", "config", "data", "cache", "tmp", "registries.d"}) {
    fs::create_directories(home + "/" + sub);
  }
  fs::permissions(home + "/run", fs::perms::owner_all);
  write_file(home + "/certs/ca.crt", caPem_);
  write_file(home + "/policy.json", R"({"default":[{"type":"insecureAcceptAnything"}]})");
  write_file(home + "/registries.conf", "");

  if (options_.basicAuth) {
    RunResult r = run({find_program("htpasswd"), "-Bbn", options_.user, options_.password});
    if (r.code != 0) throw std::runtime_error("test registry: htpasswd failed: " + r.err);
    write_file(dir_->file("htpasswd"), r.out.substr(0, r.out.find('\n')) + "\n");
  }

  if (options_.tokenAuth) {
    // The JWT signing key (ES256: a P-256 key is made in no time, unlike RSA) and its
    // certificate, issued by the same CA, which the registry gets as rootcertbundle.
    CertificateRequest signer;
    signer.commonName = "podgate test token signer";
    signer.dnsNames = {};
    signer.ipAddresses = {};
    signer.keyType = KeyType::EcdsaP256;
    IssuedCertificate signing = ca.issue(signer);
    write_file(dir_->file("signer.crt"), signing.certPem);
    write_file(dir_->file("signer.key"), signing.keyPem);
    write_file(dir_->file("issuer.json"),
               "{\"tls_cert\":" + json_string(tls.certFile) + ",\"tls_key\":" + json_string(tls.keyFile) +
                   ",\"sign_cert\":" + json_string(dir_->file("signer.crt")) +
                   ",\"sign_key\":" + json_string(dir_->file("signer.key")) + ",\"issuer\":" + json_string(kIssuer) +
                   ",\"service\":" + json_string(kService) + ",\"user\":" + json_string(options_.user) +
                   ",\"password\":" + json_string(options_.password) +
                   ",\"anonymous_pull\":" + (options_.anonymousPull ? "true" : "false") +
                   ",\"expires_in\":" + std::to_string(options_.tokenLifetime.count()) + "}");
    issuer_ = std::make_unique<Process>(std::vector<std::string>{
        find_program("python3"), std::string(PODGATE_SOURCE_DIR) + "/tests/support/token_issuer.py",
        dir_->file("issuer.json")});
    if (!issuer_->wait_for_output("listening on ", 15s, true)) {
      throw std::runtime_error("test registry: the token issuer did not start: " + issuer_->stderr_text());
    }
    const std::string out = issuer_->stdout_text();
    issuerPort_ = static_cast<unsigned short>(std::stoi(out.substr(out.find("listening on ") + 13)));
  }

  // free_port() can race with another process taking the port: try a few.
  for (int attempt = 0;; ++attempt) {
    port_ = free_port();
    try {
      start_registry();
      break;
    } catch (const std::exception& e) {
      if (attempt >= 2 || std::string(e.what()).find("address already in use") == std::string::npos) throw;
    }
  }
}

TestRegistry::~TestRegistry() {
  runs_.clear();
  issuer_.reset();
}

void TestRegistry::start_registry() {
  std::string auth;
  if (options_.basicAuth) {
    auth = "auth:\n  htpasswd:\n    realm: podgate-test-registry\n    path: \"" + dir_->file("htpasswd") + "\"\n";
  } else if (options_.tokenAuth) {
    auth = "auth:\n  token:\n    realm: \"" + token_realm() + "\"\n    service: " + kService + "\n    issuer: " + kIssuer +
           "\n    rootcertbundle: \"" + caFile_ + "\"\n";
  }
  configFile_ = dir_->file("config.yml");
  write_file(configFile_, "version: 0.1\n"
                          "log:\n  level: info\n  formatter: text\n  accesslog:\n    disabled: false\n"
                          "storage:\n  filesystem:\n    rootdirectory: \"" + dir_->file("storage") + "\"\n"
                          "  delete:\n    enabled: true\n"
                          "http:\n  addr: 127.0.0.1:" + std::to_string(port_) + "\n"
                          "  secret: " + random_hex(16) + "\n"
                          "  tls:\n    certificate: \"" + dir_->file("tls.crt") + "\"\n    key: \"" + dir_->file("tls.key") + "\"\n" +
                          auth);
  // setpriv (util-linux, always there on Debian) asks the kernel to SIGKILL the registry when the
  // thread that started it dies, so a crashed or killed test binary leaves no registry behind.
  // setpriv execs the registry: the pid stays the registry's.
  runs_.push_back(std::make_unique<Process>(std::vector<std::string>{
      find_program("setpriv"), "--pdeathsig", "KILL", "--", find_program("docker-registry"), "serve", configFile_}));
  stopped_ = false;
  Process& registry = *runs_.back();

  // Ready when GET /v2/ gets any HTTP answer (401 with auth): the listener is up and TLS works.
  ClientOptions client;
  client.port = port_;
  client.caFile = caFile_;
  client.timeout = 2s;
  const auto deadline = std::chrono::steady_clock::now() + 15s;
  std::string lastError;
  for (;;) {
    if (!registry.running()) {
      throw std::runtime_error("test registry: docker-registry exited with " + std::to_string(registry.exit_code().value_or(-1)) +
                               ": " + registry.stderr_text());
    }
    try {
      HttpsClient probe(client);
      if (probe.request("GET", "/v2/").status > 0) return;
    } catch (const std::exception& e) {
      lastError = e.what();
    }
    if (std::chrono::steady_clock::now() > deadline) {
      throw std::runtime_error("test registry: not ready after 15 s (" + lastError + "): " + registry.stderr_text());
    }
    std::this_thread::sleep_for(10ms);
  }
}

std::string TestRegistry::host() const { return "127.0.0.1:" + std::to_string(port_); }
std::string TestRegistry::ca_file() const { return caFile_; }
std::string TestRegistry::ca_pem() const { return caPem_; }
std::string TestRegistry::token_realm() const {
  return options_.tokenAuth ? "https://127.0.0.1:" + std::to_string(issuerPort_) + "/token" : "";
}
std::string TestRegistry::service() const { return kService; }

bool TestRegistry::running() const { return !stopped_ && !runs_.empty() && runs_.back()->running(); }

void TestRegistry::stop() {
  if (runs_.empty() || stopped_) return;
  runs_.back()->signal(SIGKILL);
  runs_.back()->wait_for(10s);
  stopped_ = true;
}

void TestRegistry::restart() {
  stop();
  start_registry();
}

// ---- pushing --------------------------------------------------------------------------------

void TestRegistry::skopeo_copy(const std::string& layout, const std::string& repo, const std::string& tag, bool all) {
  const std::string home = dir_->file("skopeo");
  // Through env(1): Process appends variables after the inherited ones, and Go programs keep the
  // first of duplicate names, so HOME=... passed that way would be ignored by skopeo.
  std::vector<std::string> argv{"/usr/bin/env",
                                "HOME=" + home,
                                "XDG_RUNTIME_DIR=" + home + "/run",
                                "XDG_CONFIG_HOME=" + home + "/config",
                                "XDG_DATA_HOME=" + home + "/data",
                                "XDG_CACHE_HOME=" + home + "/cache",
                                "CONTAINERS_REGISTRIES_CONF=" + home + "/registries.conf",
                                "REGISTRY_AUTH_FILE=" + home + "/auth.json",
                                find_program("skopeo"),
                                "--policy",
                                home + "/policy.json",
                                "--registries.d",
                                home + "/registries.d",
                                "--tmpdir",
                                home + "/tmp",
                                "copy",
                                "--quiet",
                                "--preserve-digests",
                                "--dest-cert-dir",
                                home + "/certs"};
  if (all) argv.emplace_back("--all");
  if (options_.basicAuth || options_.tokenAuth) {
    argv.emplace_back("--dest-creds");
    argv.push_back(options_.user + ":" + options_.password);
  }
  argv.push_back("oci:" + layout + ":img");
  argv.push_back("docker://" + host() + "/" + repo + ":" + tag);
  RunResult r = run(std::move(argv), 60s);
  if (r.code != 0) {
    throw std::runtime_error("test registry: skopeo copy to " + repo + ":" + tag + " failed (" + std::to_string(r.code) +
                             "): " + r.err);
  }
}

// curl arguments that authenticate a pull of `repo`: -u for Basic, a bearer token fetched from the
// issuer (with the credentials, as the fixture's own request) for token auth.
std::vector<std::string> TestRegistry::auth_curl_args(const std::string& repo) const {
  if (options_.basicAuth) return {"-u", options_.user + ":" + options_.password};
  if (!options_.tokenAuth) return {};
  RunResult r = run({find_program("curl"), "-sS", "--noproxy", "*", "--max-time", "10", "--cacert", caFile_, "-A",
                     kFixtureAgent, "-u", options_.user + ":" + options_.password,
                     token_realm() + "?service=" + kService + "&scope=repository:" + repo + ":pull"});
  const std::string token = json_field(r.out, "token");
  if (r.code != 0 || token.empty()) {
    throw std::runtime_error("test registry: no token from the issuer: " + r.out + r.err);
  }
  return {"-H", "Authorization: Bearer " + token};
}

// The Docker-Content-Digest the registry answers to HEAD /v2/<repo>/manifests/<ref>.
std::string TestRegistry::served_digest(const std::string& repo, const std::string& ref) const {
  std::vector<std::string> argv{find_program("curl"), "-sS", "-I", "--noproxy", "*", "--max-time", "10",
                                "--cacert", caFile_, "-A", kFixtureAgent, "-H", kAcceptAll};
  for (auto& arg : auth_curl_args(repo)) argv.push_back(std::move(arg));
  argv.push_back("https://" + host() + "/v2/" + repo + "/manifests/" + ref);
  RunResult r = run(std::move(argv));
  std::istringstream lines(r.out);
  std::string line, status, digest;
  while (std::getline(lines, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (status.empty()) {
      status = line;
      continue;
    }
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = line.substr(0, colon);
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (name == "docker-content-digest") digest = line.substr(line.find_first_not_of(' ', colon + 1));
  }
  if (r.code != 0 || status.find(" 200") == std::string::npos || digest.empty()) {
    throw std::runtime_error("test registry: HEAD " + repo + "/manifests/" + ref + " gave: " + status + " " + r.err);
  }
  return digest;
}

namespace {
std::string fresh_nonce(int counter) {
  return std::to_string(::getpid()) + "-" + std::to_string(counter) + "-" +
         std::to_string(std::chrono::system_clock::now().time_since_epoch().count()) + "-" + random_hex(8);
}
}  // namespace

std::string TestRegistry::push_image(const std::string& repo, const std::string& tag) {
  TempDir work("podgate-oci");
  Layout layout(work.file("layout"));
  const Descriptor manifest = layout.image("amd64", fresh_nonce(++pushCounter_));
  layout.set_top("application/vnd.oci.image.manifest.v1+json", manifest);
  skopeo_copy(layout.dir(), repo, tag, false);
  const std::string served = served_digest(repo, tag);
  if (served != manifest.digest) {
    throw std::runtime_error("test registry: pushed " + manifest.digest + " but " + repo + ":" + tag + " serves " + served);
  }
  return manifest.digest;
}

TestRegistry::IndexPush TestRegistry::push_index(const std::string& repo, const std::string& tag) {
  TempDir work("podgate-oci");
  Layout layout(work.file("layout"));
  const std::string nonce = fresh_nonce(++pushCounter_);
  IndexPush result;
  std::string entries;
  for (const char* arch : {"amd64", "arm64"}) {
    const Descriptor child = layout.image(arch, nonce + "-" + arch);
    result.children.emplace_back(std::string("linux/") + arch, child.digest);
    entries += std::string(entries.empty() ? "" : ",") +
               R"({"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" + child.digest +
               R"(","size":)" + std::to_string(child.size) + R"(,"platform":{"architecture":")" + arch +
               R"(","os":"linux"}})";
  }
  const Descriptor index =
      layout.blob(R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[)" + entries + "]}");
  layout.set_top("application/vnd.oci.image.index.v1+json", index);
  skopeo_copy(layout.dir(), repo, tag, true);
  result.digest = index.digest;
  const std::string served = served_digest(repo, tag);
  if (served != index.digest) {
    throw std::runtime_error("test registry: pushed index " + index.digest + " but " + repo + ":" + tag + " serves " + served);
  }
  for (const auto& [platform, digest] : result.children) {
    if (served_digest(repo, digest) != digest) {
      throw std::runtime_error("test registry: child " + platform + " " + digest + " not served as such");
    }
  }
  return result;
}

// ---- logs -----------------------------------------------------------------------------------

void TestRegistry::sync_access_log() const {
  if (!running()) return;  // a dead process has written all it will
  // The access log line is written after the response has gone out, so a client can be faster
  // than the log. A marker request made now is logged after every request already answered.
  const std::string marker = kSyncMarker + std::to_string(++syncCounter_);
  ClientOptions client;
  client.port = port_;
  client.caFile = caFile_;
  client.timeout = 5s;
  HttpsClient(client).request("GET", "/v2/?" + marker);
  Process& registry = *runs_.back();
  if (!registry.wait_for_output(marker + " ", 5s, true)) {
    throw std::runtime_error("test registry: the access log did not show " + marker);
  }
}

std::vector<AccessLogEntry> TestRegistry::access_log() const {
  sync_access_log();
  return parse_access_log();
}

std::vector<AccessLogEntry> TestRegistry::parse_access_log() const {
  std::vector<AccessLogEntry> entries;
  for (const auto& run : runs_) {
    std::istringstream lines(run->stdout_text());
    std::string line;
    AccessLogEntry entry;
    while (std::getline(lines, line)) {
      if (parse_access_line(line, entry)) entries.push_back(entry);
    }
  }
  return entries;
}

int TestRegistry::manifest_requests(const std::string& repo, const std::string& ref, const std::string& method,
                                    int status) const {
  sync_access_log();
  const std::string path = "/v2/" + repo + "/manifests/" + ref;
  int count = 0;
  for (const auto& e : parse_access_log()) {
    if (e.byFixture || e.path != path) continue;
    if (method.empty() ? (e.method != "HEAD" && e.method != "GET") : e.method != method) continue;
    if (status != 0 && e.status != status) continue;
    ++count;
  }
  return count;
}

std::vector<TokenRequestEntry> TestRegistry::token_log() const {
  std::vector<TokenRequestEntry> entries;
  if (!issuer_) return entries;
  std::istringstream lines(issuer_->stdout_text());
  std::string line;
  while (std::getline(lines, line)) {
    const auto fields = split(line, '\t');
    if (fields.size() != 6 || fields[0] != "token-request") continue;
    TokenRequestEntry e;
    e.status = std::atoi(fields[1].c_str());
    e.user = fields[2] == "-" ? "" : fields[2];
    e.userAgent = fields[3];
    e.scopes = fields[4];
    e.granted = fields[5];
    e.byFixture = is_fixture_agent(e.userAgent);
    entries.push_back(std::move(e));
  }
  return entries;
}

int TestRegistry::token_requests() const {
  int count = 0;
  for (const auto& e : token_log()) count += e.byFixture ? 0 : 1;
  return count;
}

// ---- SilentServer ---------------------------------------------------------------------------

struct SilentServer::Impl {
  int listenFd = -1;
  int wake[2] = {-1, -1};
  std::atomic<int> accepted{0};
  std::vector<int> connections;  // owned by the thread until it is joined
  std::thread thread;

  void loop() {
    pollfd fds[2] = {{listenFd, POLLIN, 0}, {wake[0], POLLIN, 0}};
    for (;;) {
      if (::poll(fds, 2, -1) < 0) {
        if (errno == EINTR) continue;
        return;
      }
      if (fds[1].revents != 0) return;
      if (fds[0].revents & POLLIN) {
        int fd = ::accept4(listenFd, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd >= 0) {
          connections.push_back(fd);
          accepted.fetch_add(1);
        }
      }
    }
  }
};

SilentServer::SilentServer() : impl_(std::make_unique<Impl>()) {
  Impl& d = *impl_;
  d.listenFd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (d.listenFd < 0 || ::bind(d.listenFd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(d.listenFd, 128) != 0 || ::getsockname(d.listenFd, reinterpret_cast<sockaddr*>(&addr), &len) != 0 ||
      ::pipe2(d.wake, O_CLOEXEC) != 0) {
    const int err = errno;
    if (d.listenFd >= 0) ::close(d.listenFd);
    throw std::runtime_error(std::string("SilentServer: ") + std::strerror(err));
  }
  port_ = ntohs(addr.sin_port);
  d.thread = std::thread([&d] { d.loop(); });
}

SilentServer::~SilentServer() {
  Impl& d = *impl_;
  const char byte = 'x';
  while (::write(d.wake[1], &byte, 1) < 0 && errno == EINTR) {
  }
  d.thread.join();
  for (int fd : d.connections) ::close(fd);
  ::close(d.listenFd);
  ::close(d.wake[0]);
  ::close(d.wake[1]);
}

std::string SilentServer::host() const { return "127.0.0.1:" + std::to_string(port_); }

int SilentServer::accepted() const { return impl_->accepted.load(); }

bool SilentServer::wait_accepted(int count, std::chrono::milliseconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (accepted() < count) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

}  // namespace podgate::test
