#pragma once
// Registry credentials from dockerconfigjson / dockercfg files (the format of Kubernetes
// `kubernetes.io/dockerconfigjson` and `kubernetes.io/dockercfg` Secrets), matched to images with
// the kubelet's keyring rules (pkg/credentialprovider/keyring.go).

#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace podgate::registry {

struct Credential {
  std::string username;
  std::string password;
  std::string identityToken;  // "identitytoken": an OAuth2 refresh token for the token endpoint
  bool operator==(const Credential&) const = default;
};

// Thrown for an unusable credentials file; what() names the file and what is wrong, and never
// contains a password or auth value.
class CredentialsError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

inline constexpr std::size_t kMaxCredentialsFileBytes = 1024 * 1024;

class Keyring {
 public:
  // Adds every entry of one file's JSON text. Accepts both shapes:
  //   {"auths": {"<key>": {...}}}   (.dockerconfigjson)
  //   {"<key>": {...}}              (.dockercfg)
  // An entry's "auth" (base64 "user:pass") overrides "username"/"password". Entries with neither
  // usable credentials nor an identity token are skipped. `source` names the text in errors.
  void add_json(std::string_view json_text, const std::string& source);
  // Reads a file (at most kMaxCredentialsFileBytes) and adds it.
  void add_file(const std::string& path);

  // The credential for an image, or nullopt. `registry_host` is the reference's domain
  // ("docker.io", "ghcr.io", "localhost:5000"), `repository_path` its path ("library/nginx").
  // Kubelet matching: the key normalised (https:// added when no scheme, URL-parsed, a leading
  // /v1/ or /v2/ stripped, so "https://index.docker.io/v1/" is "index.docker.io"); host labels
  // equal, or a glob label ("*.azurecr.io") matching exactly one label; ports equal; the key's
  // path a prefix of the image's path at a '/' boundary; docker.io images also match the
  // "index.docker.io" key. The longest (most specific) matching key wins.
  std::optional<Credential> find(std::string_view registry_host, std::string_view repository_path) const;

  // Adds every entry of `other` after this keyring's own: of two identical keys, this keyring's
  // stays first (a pod's pull secrets before the configured files, as the kubelet orders them).
  void merge(const Keyring& other);

  std::size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    std::string host;  // lowercase, may contain '*' labels
    std::string port;  // "" when none
    std::string path;  // "" or "org/team" (no leading or trailing '/')
    std::string key;   // the normalised key, for ordering by length
    Credential credential;
  };
  std::vector<Entry> entries_;
};

// What names a credential in cache keys (the digest cache, bearer tokens) without being it:
// "anonymous" for none, else "cred:" and a SHA-256 over the credential's fields and a random salt
// drawn once per process, so equal credentials share entries and different ones never do, and
// the name cannot be checked against a guessed password outside this process.
std::string credential_id(const std::optional<Credential>& credential);

}  // namespace podgate::registry
