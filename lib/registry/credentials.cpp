// Registry credentials: dockerconfigjson / dockercfg parsing and the kubelet's keyring matching.
// Ported from kubernetes pkg/credentialprovider:
//   keyring.go  BasicDockerKeyring.Add (key normalisation), ParseSchemelessURL, SplitURL, URLsMatch,
//               URLsMatchStr, BasicDockerKeyring.Lookup and isDefaultRegistryMatch;
//   config.go   DockerConfigEntry.UnmarshalJSON and decodeDockerConfigFieldAuth.
// Where this differs from the kubelet, the comment at that spot says why.

#include "registry/credentials.h"
#include "util/base64.h"
#include "util/json.h"
#include "util/text.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <memory>
#include <system_error>
#include <unordered_set>
#include <utility>

namespace podgate::registry {

namespace {

constexpr std::string_view kDefaultRegistryKey = "index.docker.io";
constexpr std::size_t kMaxKeyInError = 128;

using util::ascii_iequals;
using util::ascii_istarts_with;
using util::ascii_lowercase;

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alnum(char c) { return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

// Characters Go's url.Parse accepts unescaped in a host name (shouldEscape in encodeHost mode),
// minus ':' which separates the port. '*' and '[' ']' are among them, which is what lets keys
// carry glob labels.
bool is_host_char(char c) {
  return is_alnum(c) || std::string_view("-._~!$&'()*+,;=[]<>\"").find(c) != std::string_view::npos;
}

using util::json_type_name;

std::string_view name_of(const rapidjson::Value& name) { return {name.GetString(), name.GetStringLength()}; }

// A key quoted for an error message. Keys are URLs and may carry "user:password@", so the userinfo
// is dropped; control and non-ASCII bytes are escaped and long keys cut so the message stays one
// short line.
std::string describe_key(std::string_view key) {
  const auto scheme = key.find("://");
  const std::size_t authority_begin = scheme == std::string_view::npos ? 0 : scheme + 3;
  auto authority_end = key.find_first_of("/?#", authority_begin);
  if (authority_end == std::string_view::npos) authority_end = key.size();
  std::string cleaned(key.substr(0, authority_begin));
  const auto at = key.substr(authority_begin, authority_end - authority_begin).rfind('@');
  if (at != std::string_view::npos) {
    cleaned += "<redacted>@";
    cleaned += key.substr(authority_begin + at + 1);
  } else {
    cleaned += key.substr(authority_begin);
  }

  return util::quoted(cleaned, kMaxKeyInError, true);
}

// ---- base64 (config.go decodeDockerConfigFieldAuth): Go's StdEncoding (padded) or RawStdEncoding
// (unpadded) DecodeString, lib/util/base64.h ----

std::optional<std::string> decode_base64(std::string_view text, bool padded) {
  util::Base64Options options;
  options.padding = padded ? util::Base64Options::Padding::Required : util::Base64Options::Padding::Forbidden;
  return util::decode_base64(text, kMaxCredentialsFileBytes, nullptr, options);
}

// "auth" is base64("user:pass"); padded or not is decided the way config.go does it (by a
// trailing '=' once surrounding space is trimmed). Splits at the first ':' so passwords may hold
// colons. On failure returns the reason, which never contains the value.
std::optional<std::string> decode_auth(std::string_view field, Credential& out) {
  std::string_view trimmed = field;
  constexpr std::string_view kSpace = " \t\n\v\f\r";
  while (!trimmed.empty() && kSpace.find(trimmed.back()) != std::string_view::npos) trimmed.remove_suffix(1);
  const bool padded = !trimmed.empty() && trimmed.back() == '=';

  const auto decoded = decode_base64(field, padded);
  if (!decoded) return std::string("is not valid base64");
  const auto colon = decoded->find(':');
  if (colon == std::string::npos) return std::string("does not decode to \"username:password\"");
  out.username = decoded->substr(0, colon);
  out.password = decoded->substr(colon + 1);
  return std::nullopt;
}

// ---- host labels as globs (path/filepath.Match, as URLsMatch uses it per label) ----

// One character of a class ("[a-z]"): filepath.Match's getEsc.
bool class_char(std::string_view& p, char& out) {
  if (p.empty() || p[0] == '-' || p[0] == ']') return false;
  if (p[0] == '\\') {
    p.remove_prefix(1);
    if (p.empty()) return false;
  }
  out = p[0];
  p.remove_prefix(1);
  return !p.empty();  // a class must still be closed
}

// Matches the pattern element at the front of p (anything but '*') against c and consumes it.
// nullopt: the pattern is malformed (filepath.ErrBadPattern).
std::optional<bool> match_element(std::string_view& p, char c) {
  char ch = p[0];
  if (ch == '?') {
    p.remove_prefix(1);
    return true;
  }
  if (ch == '[') {
    p.remove_prefix(1);
    bool negated = false;
    if (!p.empty() && p[0] == '^') {
      negated = true;
      p.remove_prefix(1);
    }
    bool matched = false;
    for (int ranges = 0;; ++ranges) {
      if (!p.empty() && p[0] == ']' && ranges > 0) {
        p.remove_prefix(1);
        break;
      }
      char lo = 0;
      if (!class_char(p, lo)) return std::nullopt;
      char hi = lo;
      if (p[0] == '-') {
        p.remove_prefix(1);
        if (!class_char(p, hi)) return std::nullopt;
      }
      if (lo <= c && c <= hi) matched = true;
    }
    return matched != negated;
  }
  if (ch == '\\') {
    p.remove_prefix(1);
    if (p.empty()) return std::nullopt;
    ch = p[0];
  }
  p.remove_prefix(1);
  return ch == c;
}

// Keys are checked once when added, so a malformed glob never reaches matching; the kubelet
// instead fails the match each lookup, with the same result.
bool valid_glob(std::string_view p) {
  while (!p.empty()) {
    if (p[0] == '*') {
      p.remove_prefix(1);
    } else if (!match_element(p, 'a').has_value()) {
      return false;
    }
  }
  return true;
}

// filepath.Match for a pattern already known to be valid. Labels contain no '/', so '*' is any
// run of characters; backtracking resumes after the last '*' one character further each time.
bool glob_match(std::string_view p, std::string_view t) {
  std::string_view star_p, star_t;
  bool have_star = false;
  for (;;) {
    if (!p.empty() && p[0] == '*') {
      while (!p.empty() && p[0] == '*') p.remove_prefix(1);
      star_p = p;
      star_t = t;
      have_star = true;
      continue;
    }
    if (t.empty() && p.empty()) return true;
    if (!t.empty() && !p.empty()) {
      std::string_view q = p;
      if (match_element(q, t[0]).value_or(false)) {
        p = q;
        t.remove_prefix(1);
        continue;
      }
    }
    if (!have_star || star_t.empty()) return false;
    star_t.remove_prefix(1);
    t = star_t;
    p = star_p;
  }
}

// ---- keys and hosts (ParseSchemelessURL + SplitURL) ----

struct HostPort {
  std::string host;  // lowercase; "[v6]" keeps its brackets
  std::string port;  // digits or ""
};

// An authority the way url.Parse validates it and net.SplitHostPort splits it. nullopt for what
// url.Parse refuses, and for an empty host, which no image reference has.
//
// Differences from the kubelet, none of which changes what a usable key matches: hosts are
// lowercased (DNS names are case-insensitive; the kubelet compares bytes); a host with several
// ':' outside brackets or with '%' escapes is refused (url.Parse accepts a few such spellings,
// but no image domain is written that way); an IPv6 literal is compared as written, brackets
// included, where the kubelet, for a literal without a port, hands "[::1]" to filepath.Match as
// a character class.
std::optional<HostPort> split_host_port(std::string_view authority) {
  std::string_view host = authority;
  std::string_view port;
  if (!authority.empty() && authority[0] == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos || close == 1) return std::nullopt;
    host = authority.substr(0, close + 1);
    const auto rest = authority.substr(close + 1);
    if (!rest.empty()) {
      if (rest[0] != ':') return std::nullopt;
      port = rest.substr(1);
    }
    for (const char c : host.substr(1, host.size() - 2)) {
      if (!is_hex(c) && c != ':' && c != '.') return std::nullopt;
    }
  } else {
    if (const auto colon = authority.rfind(':'); colon != std::string_view::npos) {
      host = authority.substr(0, colon);
      port = authority.substr(colon + 1);
    }
    if (host.empty()) return std::nullopt;
    for (const char c : host) {
      if (!is_host_char(c)) return std::nullopt;
    }
  }
  for (const char c : port) {
    if (!is_digit(c)) return std::nullopt;
  }
  return HostPort{ascii_lowercase(host), std::string(port)};
}

std::optional<std::string> percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    if (i + 2 >= s.size() || !is_hex(s[i + 1]) || !is_hex(s[i + 2])) return std::nullopt;
    const auto nibble = [](char c) { return is_digit(c) ? c - '0' : util::ascii_lower(c) - 'a' + 10; };
    out += static_cast<char>(nibble(s[i + 1]) * 16 + nibble(s[i + 2]));
    i += 2;
  }
  return out;
}

std::vector<std::string_view> split_labels(std::string_view host) {
  std::vector<std::string_view> labels;
  for (;;) {
    const auto dot = host.find('.');
    labels.push_back(host.substr(0, dot));
    if (dot == std::string_view::npos) return labels;
    host.remove_prefix(dot + 1);
  }
}

struct NormalisedKey {
  HostPort where;
  std::string path;  // no leading or trailing '/'
};

// BasicDockerKeyring.Add: "https://" unless the key has an http(s) scheme, URL-parsed, a leading
// "/v1/" or "/v2/" dropped (docker treats them as the registry root), and userinfo, query and
// fragment ignored as url.Parse separates them. nullopt where the kubelet logs "Entry ... in
// dockercfg invalid, ignoring", and for keys whose glob labels are malformed (they can never
// match). The scheme prefix is matched case-insensitively ("HTTPS://ghcr.io"); the kubelet would
// prepend a second scheme and never match such a key.
std::optional<NormalisedKey> normalise_key(std::string_view key) {
  for (const char c : key) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return std::nullopt;  // url.Parse refuses
  }
  if (ascii_istarts_with(key, "https://")) {
    key.remove_prefix(8);
  } else if (ascii_istarts_with(key, "http://")) {
    key.remove_prefix(7);
  }
  const auto authority_end = key.find_first_of("/?#");
  std::string_view authority = key.substr(0, authority_end);
  std::string_view raw_path = authority_end == std::string_view::npos ? std::string_view() : key.substr(authority_end);
  raw_path = raw_path.substr(0, raw_path.find_first_of("?#"));
  if (const auto at = authority.rfind('@'); at != std::string_view::npos) authority.remove_prefix(at + 1);

  auto where = split_host_port(authority);
  if (!where) return std::nullopt;
  if (where->host[0] != '[') {
    for (const auto label : split_labels(where->host)) {
      if (!valid_glob(label)) return std::nullopt;
    }
  }
  auto path = percent_decode(raw_path);
  if (!path) return std::nullopt;
  if (path->starts_with("/v1/") || path->starts_with("/v2/")) path->erase(0, 3);
  // The kubelet keeps a trailing '/' ("quay.io/org/" then misses the image quay.io/org); with
  // matching at '/' boundaries (see path_matches) the slashes carry no meaning.
  const auto first = path->find_first_not_of('/');
  if (first == std::string::npos) {
    path->clear();
  } else {
    *path = path->substr(first, path->find_last_not_of('/') - first + 1);
  }
  return NormalisedKey{std::move(*where), std::move(*path)};
}

// The kubelet checks strings.HasPrefix("/" + image path, key path), so the key "quay.io/foo" also
// matches quay.io/foobar (its own test "match first part of path token"). podgate matches only at
// a '/' boundary: credentials for one organisation must not be sent to the registry for another
// whose name merely starts the same.
bool path_matches(std::string_view key_path, std::string_view image_path) {
  if (key_path.empty()) return true;
  if (!image_path.starts_with(key_path)) return false;
  return image_path.size() == key_path.size() || image_path[key_path.size()] == '/';
}

// URLsMatch: same port, same number of host labels, each key label a glob matching the image's
// label, the key path a prefix of the image path.
bool entry_matches(const std::string& key_host, const std::string& key_port, const std::string& key_path,
                   const HostPort& image, std::string_view image_path) {
  if (key_port != image.port) return false;
  if (!path_matches(key_path, image_path)) return false;
  if (key_host[0] == '[' || image.host[0] == '[') return key_host == image.host;
  const auto key_labels = split_labels(key_host);
  const auto image_labels = split_labels(image.host);
  if (key_labels.size() != image_labels.size()) return false;
  for (std::size_t i = 0; i < key_labels.size(); ++i) {
    if (!glob_match(key_labels[i], image_labels[i])) return false;
  }
  return true;
}

// DockerConfigEntry.UnmarshalJSON. Like Go's encoding/json, field names match case-insensitively,
// the last of repeated fields wins, null leaves a field empty, unknown fields are ignored and a
// known field of another type is an error. "auth", when not empty, replaces username and password.
Credential read_entry(const rapidjson::Value& value, const std::string& where) {
  Credential credential;
  if (value.IsNull()) return credential;
  if (!value.IsObject()) throw CredentialsError(where + ": expected an object, got " + json_type_name(value));
  std::string auth;
  std::string email;  // type-checked like the kubelet does, otherwise unused
  const std::pair<const char*, std::string*> fields[] = {{"username", &credential.username},
                                                          {"password", &credential.password},
                                                          {"auth", &auth},
                                                          {"identitytoken", &credential.identityToken},
                                                          {"email", &email}};
  for (const auto& member : value.GetObject()) {
    const auto name = name_of(member.name);
    const auto known = std::find_if(std::begin(fields), std::end(fields),
                                    [&](const auto& f) { return ascii_iequals(name, f.first); });
    if (known == std::end(fields)) continue;
    if (member.value.IsNull()) continue;
    if (!member.value.IsString()) {
      throw CredentialsError(where + ": \"" + known->first + "\" must be a string, got " + json_type_name(member.value));
    }
    known->second->assign(member.value.GetString(), member.value.GetStringLength());
  }
  if (!auth.empty()) {
    if (const auto why = decode_auth(auth, credential)) throw CredentialsError(where + ": \"auth\" " + *why);
  }
  return credential;
}

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

}  // namespace

void Keyring::add_json(std::string_view json_text, const std::string& source) {
  if (json_text.size() > kMaxCredentialsFileBytes) {
    throw CredentialsError(source + ": larger than " + std::to_string(kMaxCredentialsFileBytes) + " bytes");
  }
  // The parser would take a NUL for the end of the text and ignore what follows.
  if (const void* nul = std::memchr(json_text.data(), '\0', json_text.size())) {
    throw CredentialsError(source + ": not valid JSON: NUL byte at offset " +
                           std::to_string(static_cast<const char*>(nul) - json_text.data()));
  }
  rapidjson::Document doc;
  // Iterative: a megabyte of '[' must not recurse a megabyte deep. RapidJSON's messages name the
  // problem and an offset, never the text, so they cannot leak a password.
  doc.Parse<rapidjson::kParseIterativeFlag | rapidjson::kParseValidateEncodingFlag>(json_text.data(), json_text.size());
  if (doc.HasParseError()) {
    std::string reason = rapidjson::GetParseError_En(doc.GetParseError());
    if (!reason.empty() && reason.back() == '.') reason.pop_back();
    throw CredentialsError(source + ": not valid JSON: " + reason + " at offset " + std::to_string(doc.GetErrorOffset()));
  }
  if (!doc.IsObject()) throw CredentialsError(source + ": expected a JSON object, got " + json_type_name(doc));

  // {"auths": {...}} (.dockerconfigjson, docker's config.json) or the bare map (.dockercfg).
  const rapidjson::Value* auths = nullptr;
  // A const view: clang warns (C++20) on comparing RapidJSON's non-const member iterators.
  const rapidjson::Value& root = doc;
  for (const auto& member : root.GetObject()) {
    if (ascii_iequals(name_of(member.name), "auths")) auths = &member.value;
  }
  const bool bare = auths == nullptr;
  if (bare) auths = &doc;
  if (auths->IsNull()) return;
  if (!auths->IsObject()) throw CredentialsError(source + ": \"auths\" must be an object, got " + json_type_name(*auths));

  // Go decodes into a map, so of repeated keys the last one counts.
  std::vector<const rapidjson::Value::Member*> members;
  std::unordered_set<std::string_view> seen;
  for (auto it = auths->MemberEnd(); it != auths->MemberBegin();) {
    --it;
    if (seen.insert(name_of(it->name)).second) members.push_back(&*it);
  }
  std::reverse(members.begin(), members.end());

  // Everything is checked before anything is added, so a bad file leaves the keyring as it was.
  std::vector<Entry> added;
  for (const auto* member : members) {
    const auto key = name_of(member->name);
    std::string where = source + ": entry " + describe_key(key);
    if (bare && !member->value.IsObject() && !member->value.IsNull()) {
      where += " (there is no \"auths\" member, so the file is read as .dockercfg)";
    }
    Credential credential = read_entry(member->value, where);
    // An empty entry (docker's config.json writes them when a credential helper holds the secret)
    // would otherwise shadow a less specific key that does have credentials.
    if (credential.username.empty() && credential.password.empty() && credential.identityToken.empty()) continue;
    auto normalised = normalise_key(key);
    if (!normalised) continue;  // the kubelet ignores such entries too

    Entry entry;
    entry.key = normalised->where.host;
    if (!normalised->where.port.empty()) entry.key += ":" + normalised->where.port;
    if (!normalised->path.empty()) entry.key += "/" + normalised->path;
    entry.host = std::move(normalised->where.host);
    entry.port = std::move(normalised->where.port);
    entry.path = std::move(normalised->path);
    entry.credential = std::move(credential);
    added.push_back(std::move(entry));
  }

  entries_.insert(entries_.end(), std::make_move_iterator(added.begin()), std::make_move_iterator(added.end()));
  // Longest key first, so the most specific match wins. The kubelet reverse-sorts the keys
  // lexically, which puts "quay.io/org" before "quay.io" as well; length also puts a glob with a
  // path before a plain host. Equal lengths fall back to the kubelet's order (so "a.example.com"
  // beats "*.example.com"), and the stable sort keeps the first added of identical keys first
  // (the kubelet keeps them all, in Go's random map order).
  std::stable_sort(entries_.begin(), entries_.end(), [](const Entry& a, const Entry& b) {
    if (a.key.size() != b.key.size()) return a.key.size() > b.key.size();
    return a.key > b.key;
  });
}

void Keyring::merge(const Keyring& other) {
  entries_.insert(entries_.end(), other.entries_.begin(), other.entries_.end());
  // The same order add_json keeps: longest key first, the first added of identical keys first.
  std::stable_sort(entries_.begin(), entries_.end(), [](const Entry& a, const Entry& b) {
    if (a.key.size() != b.key.size()) return a.key.size() > b.key.size();
    return a.key > b.key;
  });
}

std::string credential_id(const std::optional<Credential>& credential) {
  if (!credential) return "anonymous";
  static const std::string salt = [] {
    std::string s(32, '\0');
    if (RAND_bytes(reinterpret_cast<unsigned char*>(s.data()), static_cast<int>(s.size())) != 1)
      throw std::runtime_error("cannot draw random bytes for credential ids");
    return s;
  }();
  // Each field length-prefixed, so ("ab","c") and ("a","bc") differ.
  std::string input = salt;
  for (const std::string* field : {&credential->username, &credential->password, &credential->identityToken}) {
    input += std::to_string(field->size());
    input += ':';
    input += *field;
  }
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(input.data(), input.size(), out, &length, EVP_sha256(), nullptr);
  OPENSSL_cleanse(input.data(), input.size());
  static const char* hex = "0123456789abcdef";
  std::string id = "cred:";
  for (unsigned int i = 0; i < 16 && i < length; ++i) {
    id += hex[out[i] >> 4];
    id += hex[out[i] & 0xF];
  }
  return id;
}

void Keyring::add_file(const std::string& path) {
  std::unique_ptr<std::FILE, FileCloser> file(std::fopen(path.c_str(), "rb"));
  if (!file) throw CredentialsError(path + ": cannot open: " + std::error_code(errno, std::generic_category()).message());
  std::string text;
  char buffer[64 * 1024];
  // Read one byte past the limit to tell "exactly at the limit" from "over it" without trusting
  // the size stat reports (a FIFO or /proc file has none).
  while (text.size() <= kMaxCredentialsFileBytes) {
    const std::size_t want = std::min(sizeof buffer, kMaxCredentialsFileBytes + 1 - text.size());
    const std::size_t got = std::fread(buffer, 1, want, file.get());
    if (got < want && std::ferror(file.get())) {
      throw CredentialsError(path + ": cannot read: " + std::error_code(errno, std::generic_category()).message());
    }
    text.append(buffer, got);
    if (got < want) break;
  }
  add_json(text, path);
}

std::optional<Credential> Keyring::find(std::string_view registry_host, std::string_view repository_path) const {
  const auto image = split_host_port(registry_host);
  if (!image) return std::nullopt;
  for (const auto& entry : entries_) {
    if (entry_matches(entry.host, entry.port, entry.path, *image, repository_path)) return entry.credential;
  }
  // Lookup's fallback: a Docker Hub image that matched no key uses the "index.docker.io" key
  // (the one `docker login` writes as "https://index.docker.io/v1/"). isDefaultRegistryMatch also
  // counts a first component without '.' or ':' as Docker Hub, because the kubelet sees image
  // names before normalisation; here the domain is already parsed, so "localhost" is a registry.
  if (image->port.empty() && (image->host == "docker.io" || image->host == kDefaultRegistryKey)) {
    for (const auto& entry : entries_) {
      if (entry.key == kDefaultRegistryKey) return entry.credential;
    }
  }
  return std::nullopt;
}

}  // namespace podgate::registry
