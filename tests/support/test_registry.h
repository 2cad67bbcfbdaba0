#pragma once
// A real container registry on loopback for integration tests: Debian's docker-registry
// (distribution 2.8, /usr/bin/docker-registry) over TLS on 127.0.0.1:<free port>, with no auth,
// htpasswd Basic auth, or bearer-token auth backed by a token issuer the fixture runs
// (tests/support/token_issuer.py: written for these tests, since docker-registry only validates
// tokens and has no issuer of its own). Images are pushed with skopeo from OCI layouts the fixture
// writes, so their digests are known from the bytes and then checked against what the registry serves.
//
// Tools it runs (scripts/install-deps.sh installs them): docker-registry, skopeo, htpasswd
// (apache2-utils), curl, python3 and openssl (the issuer signs with the openssl binary).
//
// Facts about docker-registry 2.8 that tests meet (see also /work/shared/reference/registry.md):
// - A manifest HEAD/GET whose Accept lacks the stored manifest's media type answers 404
//   MANIFEST_UNKNOWN (an OCI manifest needs application/vnd.oci.image.manifest.v1+json, an OCI
//   index application/vnd.oci.image.index.v1+json); it never picks a platform out of an index.
// - It speaks HTTP/2 when the client offers h2 over ALPN.
// - With token auth, an unauthenticated request gets 401 with
//   `WWW-Authenticate: Bearer realm="https://127.0.0.1:P/token",service="...",scope="..."`.

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace podgate::test {

class Process;
class TempDir;

struct RegistryOptions {
  bool basicAuth = false;  // htpasswd (bcrypt, made by `htpasswd -Bbn`) with user/password below
  bool tokenAuth = false;  // bearer tokens from the fixture's token issuer (`auth: token:`)
  std::string user = "podgate";
  std::string password = "s3cret";
  // tokenAuth: the issuer gives pull tokens without credentials; false: Basic credentials are
  // required for every token. Push always needs them.
  bool anonymousPull = true;
  std::chrono::seconds tokenLifetime{60};  // tokenAuth: `expires_in` of each token
};

// One line of the registry's access log (Apache combined format, on the registry's stdout).
struct AccessLogEntry {
  std::string method;     // "HEAD", "GET", ...
  std::string target;     // request target as sent, query included
  std::string path;       // target without the query
  int status = 0;
  std::string userAgent;
  bool byFixture = false; // made by the fixture itself (skopeo pushes, digest checks, log syncs)
};

// One request the token issuer answered.
struct TokenRequestEntry {
  int status = 0;
  std::string user;       // Basic user sent, "" when anonymous
  std::string userAgent;
  std::string scopes;     // requested scopes, space-separated ("" when none)
  std::string granted;    // granted scopes, space-separated, "type:name:actions"
  bool byFixture = false;
};

// Construct (and restart()) it on a thread that outlives it, normally the test's own: the registry
// runs with a parent-death signal, which Linux sends when the *thread* that started it exits.
class TestRegistry {
 public:
  // Starts the token issuer (tokenAuth) and the registry, and waits until GET /v2/ answers.
  // Throws std::runtime_error (with the registry's stderr) when anything fails to start.
  explicit TestRegistry(RegistryOptions options = {});
  ~TestRegistry();  // kills the registry and the issuer, removes every file
  TestRegistry(const TestRegistry&) = delete;
  TestRegistry& operator=(const TestRegistry&) = delete;

  const RegistryOptions& options() const { return options_; }
  std::string host() const;            // "127.0.0.1:PORT"; the cert has SANs 127.0.0.1 and localhost
  unsigned short port() const { return port_; }
  std::string ca_file() const;         // PEM of the CA that signed the registry's and issuer's certs
  std::string ca_pem() const;
  std::string token_realm() const;     // "https://127.0.0.1:P/token", "" without tokenAuth
  std::string service() const;         // the token `service` ("podgate-test-registry")

  // Pushes a fresh single-platform (linux/amd64) OCI image to repo:tag with `skopeo copy
  // --preserve-digests`. Every call makes new content, so re-pushing a tag moves it to a new
  // digest. Returns the manifest digest "sha256:...", computed from the bytes written and checked
  // against the registry's Docker-Content-Digest for the tag. Throws on any failure.
  std::string push_image(const std::string& repo, const std::string& tag);

  struct IndexPush {
    std::string digest;  // of the index
    std::vector<std::pair<std::string, std::string>> children;  // {"linux/amd64", "sha256:..."}, {"linux/arm64", ...}
  };
  // A two-platform OCI image index (linux/amd64, linux/arm64), `skopeo copy --all
  // --preserve-digests`; the index and both children are checked against the registry.
  IndexPush push_index(const std::string& repo, const std::string& tag);

  // Manifest requests for /v2/<repo>/manifests/<ref> in the access log, the fixture's own left
  // out. `method`: "" counts HEAD and GET, else only that method; `status`: 0 any, else only
  // that status (with token auth a client's first try is often a 401, then the retry a 200).
  // While the registry runs, this first makes a marker request and waits for its log line, so
  // every request whose response a client already has is counted.
  int manifest_requests(const std::string& repo, const std::string& ref, const std::string& method = "",
                        int status = 0) const;
  // Every access-log line so far (all runs of the registry, fixture's own included and marked),
  // brought up to date the same way.
  std::vector<AccessLogEntry> access_log() const;

  // tokenAuth: token requests the issuer answered (any status), the fixture's own left out.
  int token_requests() const;
  std::vector<TokenRequestEntry> token_log() const;

  // Kills the registry (SIGKILL) for "registry is down" tests: connections are refused from then
  // on. host() stays the same; logs stay readable. The token issuer keeps running.
  void stop();
  // Starts the registry again on the same port with the same storage (pushed images survive).
  void restart();
  bool running() const;

 private:
  void start_registry();
  void sync_access_log() const;
  std::vector<AccessLogEntry> parse_access_log() const;
  std::vector<std::string> auth_curl_args(const std::string& repo) const;
  std::string served_digest(const std::string& repo, const std::string& ref) const;
  void skopeo_copy(const std::string& layout, const std::string& repo, const std::string& tag, bool all);

  RegistryOptions options_;
  std::unique_ptr<TempDir> dir_;
  std::string caPem_, caFile_, configFile_;
  unsigned short port_ = 0;
  unsigned short issuerPort_ = 0;
  std::unique_ptr<Process> issuer_;
  std::vector<std::unique_ptr<Process>> runs_;  // every registry process started, the last one current
  bool stopped_ = false;
  mutable int syncCounter_ = 0;
  int pushCounter_ = 0;
};

// A TCP listener on 127.0.0.1 that accepts connections on a background thread and never sends
// (or reads) a byte: a hung registry. Accepted connections stay open until destruction.
class SilentServer {
 public:
  SilentServer();
  ~SilentServer();
  SilentServer(const SilentServer&) = delete;
  SilentServer& operator=(const SilentServer&) = delete;

  unsigned short port() const { return port_; }
  std::string host() const;  // "127.0.0.1:PORT"
  // Connections the thread has accepted. A client's connect() completes in the kernel before the
  // accept, so poll (wait_accepted) rather than reading this right after connecting.
  int accepted() const;
  bool wait_accepted(int count, std::chrono::milliseconds timeout) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  unsigned short port_ = 0;
};

}  // namespace podgate::test
