// PullSecretCache: a pod's imagePullSecrets read from the apiserver, decoded into keyrings, kept in
// memory for a short TTL (negative answers too), bounded in entries and bytes.

#include "policy/pull_secrets.h"

#include <rapidjson/document.h>

#include <algorithm>

#include "util/base64.h"

namespace podgate::policy {

namespace {

using Clock = std::chrono::steady_clock;

// What an entry costs beyond its data (the keyring, its parsed entries, the index and list
// nodes): measured, not guessed. The "[.bench]" case in tests/unit/pull_secrets_test.cpp grew RSS
// by about 950 bytes per Secret at 10,000 one-registry Secrets, of which ~180 are the data and key.
constexpr std::size_t kEntryOverhead = 768;

// A DNS-1123 subdomain (Secret and ServiceAccount names) or label (namespaces): what may go into
// a URL path without escaping, and nothing that could climb out of it ("..", "/").
bool valid_name(std::string_view name, std::size_t max) {
  if (name.empty() || name.size() > max) return false;
  const auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!alnum(name.front()) || !alnum(name.back())) return false;
  for (const char c : name)
    if (!alnum(c) && c != '-' && (c != '.' || max == 63)) return false;
  return name.find("..") == std::string_view::npos;
}
bool valid_object_name(std::string_view name) { return valid_name(name, 253); }
bool valid_namespace(std::string_view name) { return valid_name(name, 63); }

std::string secret_key(const std::string& ns, const std::string& name) { return "secret\x1f" + ns + "\x1f" + name; }
std::string account_key(const std::string& ns, const std::string& name) { return "sa\x1f" + ns + "\x1f" + name; }

std::string_view view(const rapidjson::Value& v) { return {v.GetString(), v.GetStringLength()}; }

// result label and log text for an answer that is not 200.
std::string_view failure_result(const kube::Response& r) {
  if (r.status == 404) return "not_found";
  if (r.status == 403) return "forbidden";
  return "error";
}

}  // namespace

PullSecretRefs pull_secret_refs(const admission::Request& request) {
  PullSecretRefs refs;
  const auto& spec = request.object.podSpec;
  if (!spec || request.namespace_.empty()) return refs;
  refs.namespace_ = std::string(request.namespace_);
  for (const std::string_view name : spec->imagePullSecrets) {
    if (std::find(refs.secrets.begin(), refs.secrets.end(), name) == refs.secrets.end()) refs.secrets.emplace_back(name);
  }
  // A Pod's spec is at "spec"; every template (Deployment, CronJob, PodTemplate, ...) is deeper.
  const bool pod = spec->fieldPath == "spec";
  if (!pod && refs.secrets.empty())
    refs.serviceAccount = spec->serviceAccountName.empty() ? std::string("default") : std::string(spec->serviceAccountName);
  return refs;
}

PullSecretCache::PullSecretCache(KubeGet get, PullSecretOptions options, metrics::Metrics* metrics, log::Logger* logger)
    : get_(std::move(get)), options_(options), metrics_(metrics), logger_(logger) {
  if (options_.maxEntries == 0) options_.maxEntries = 1;
}

std::size_t PullSecretCache::size() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return lru_.size();
}

std::size_t PullSecretCache::bytes() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return bytes_;
}

std::shared_ptr<const PullSecretCache::Entry> PullSecretCache::lookup(const std::string& key) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = index_.find(key);
  if (it == index_.end()) return nullptr;
  if ((*it->second)->expires <= Clock::now()) {
    bytes_ -= (*it->second)->bytes;
    lru_.erase(it->second);
    index_.erase(it);
    return nullptr;
  }
  lru_.splice(lru_.begin(), lru_, it->second);
  return *it->second;
}

void PullSecretCache::store(std::shared_ptr<Entry> entry) {
  entry->expires = Clock::now() + options_.ttl;
  entry->bytes += kEntryOverhead + entry->key.size();
  // An entry larger than the whole budget is used for the request that read it, not kept.
  if (entry->bytes > options_.maxBytes) return;
  std::lock_guard<std::mutex> lock(mutex_);
  if (auto it = index_.find(entry->key); it != index_.end()) {
    bytes_ -= (*it->second)->bytes;
    lru_.erase(it->second);
    index_.erase(it);
  }
  bytes_ += entry->bytes;
  lru_.push_front(std::move(entry));
  index_[lru_.front()->key] = lru_.begin();
  while (lru_.size() > options_.maxEntries || bytes_ > options_.maxBytes) {
    bytes_ -= lru_.back()->bytes;
    index_.erase(lru_.back()->key);
    lru_.pop_back();
  }
}

void PullSecretCache::count(std::string_view result) {
  if (metrics_) metrics_->count_pull_secret_read(result);
}

// One line per read that found nothing usable; reads happen once per name per TTL, so this is too.
void PullSecretCache::report(std::string_view what, const std::string& ns, const std::string& name,
                             std::string_view result, const std::string& why) {
  if (!logger_) return;
  logger_->line(log::Level::Warn, std::string(what) + " unavailable for image resolution")
      .str("namespace", ns)
      .str("name", name)
      .str("result", result)
      .str("error", why, 512)
      .integer("retryAfterSeconds", std::chrono::duration_cast<std::chrono::seconds>(options_.ttl).count());
}

std::shared_ptr<const PullSecretCache::Entry> PullSecretCache::read_secret(const std::string& ns,
                                                                           const std::string& name) {
  auto entry = std::make_shared<Entry>();
  entry->key = secret_key(ns, name);
  const auto finish = [&](std::string_view result, const std::string& why) {
    count(result);
    if (result != "found") report("image pull secret", ns, name, result, why);
    store(entry);
    return entry;
  };

  kube::Response response;
  try {
    response = get_("secrets", "/api/v1/namespaces/" + ns + "/secrets/" + name);
  } catch (const std::exception& e) {
    return finish("error", std::string("the read failed: ") + e.what());
  }
  // describe() is only ever given an error answer (a Status object): never a Secret's body.
  if (!response.ok()) return finish(failure_result(response), response.describe());

  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseIterativeFlag>(response.body.data(), response.body.size());
  if (doc.HasParseError() || !doc.IsObject()) return finish("error", "the apiserver's answer is not a JSON object");
  const rapidjson::Value& root = doc;
  std::string_view type;
  if (auto t = root.FindMember("type"); t != root.MemberEnd() && t->value.IsString()) type = view(t->value);
  std::string_view dataKey;
  if (type == "kubernetes.io/dockerconfigjson") dataKey = ".dockerconfigjson";
  else if (type == "kubernetes.io/dockercfg") dataKey = ".dockercfg";
  else return finish("wrong_type", "type is not kubernetes.io/dockerconfigjson or kubernetes.io/dockercfg");

  const rapidjson::Value* encoded = nullptr;
  if (auto d = root.FindMember("data"); d != root.MemberEnd() && d->value.IsObject()) {
    const rapidjson::Value& data = d->value;
    if (auto v = data.FindMember(rapidjson::StringRef(dataKey.data(), dataKey.size())); v != data.MemberEnd())
      encoded = &v->value;
  }
  if (!encoded || !encoded->IsString()) return finish("wrong_type", "data has no " + std::string(dataKey) + " key");

  util::Base64Error why = util::Base64Error::None;
  auto text = util::decode_base64(view(*encoded), registry::kMaxCredentialsFileBytes, &why);
  if (!text) {
    return finish("error", "data." + std::string(dataKey) +
                               (why == util::Base64Error::TooLarge ? " is larger than " +
                                                                         std::to_string(registry::kMaxCredentialsFileBytes) + " bytes"
                                                                   : " is not valid base64"));
  }
  auto keyring = std::make_shared<registry::Keyring>();
  try {
    // A CredentialsError names the source and the entry's key, never a password or auth value.
    keyring->add_json(*text, "secret " + ns + "/" + name + " data." + std::string(dataKey));
  } catch (const std::exception& e) {
    return finish("error", e.what());
  }
  entry->bytes = text->size();
  if (keyring->size() > 0) entry->keyring = std::move(keyring);
  return finish("found", "");
}

std::shared_ptr<const PullSecretCache::Entry> PullSecretCache::read_service_account(const std::string& ns,
                                                                                    const std::string& name) {
  // Counted by the kube client (podgate_kube_requests_total{resource="serviceaccounts"}), not as a
  // pull secret read.
  auto entry = std::make_shared<Entry>();
  entry->key = account_key(ns, name);
  kube::Response response;
  try {
    response = get_("serviceaccounts", "/api/v1/namespaces/" + ns + "/serviceaccounts/" + name);
  } catch (const std::exception& e) {
    response.status = 0;
    response.error = std::string("the read failed: ") + e.what();
  }
  if (!response.ok()) {
    report("service account", ns, name, failure_result(response), response.describe());
  } else {
    rapidjson::Document doc;
    doc.Parse<rapidjson::kParseIterativeFlag>(response.body.data(), response.body.size());
    const rapidjson::Value& root = doc;
    if (!doc.HasParseError() && doc.IsObject()) {
      if (auto list = root.FindMember("imagePullSecrets"); list != root.MemberEnd() && list->value.IsArray()) {
        for (const auto& item : list->value.GetArray()) {
          if (!item.IsObject()) continue;
          auto n = item.FindMember("name");
          if (n == item.MemberEnd() || !n->value.IsString() || n->value.GetStringLength() == 0) continue;
          std::string secret(view(n->value));
          if (std::find(entry->names.begin(), entry->names.end(), secret) != entry->names.end()) continue;
          entry->bytes += secret.size() + 32;
          entry->names.push_back(std::move(secret));
          if (entry->names.size() >= options_.maxNamesPerRequest) break;
        }
      }
    } else {
      report("service account", ns, name, "error", "the apiserver's answer is not a JSON object");
    }
  }
  store(entry);
  return entry;
}

// The Secret names to use, in order: the request's own, else its ServiceAccount's; bounded.
std::vector<std::string> PullSecretCache::secret_names(const PullSecretRefs& refs, const Entry* serviceAccount) const {
  std::vector<std::string> names = refs.secrets.empty() && serviceAccount ? serviceAccount->names : refs.secrets;
  names.erase(std::remove_if(names.begin(), names.end(), [](const std::string& n) { return !valid_object_name(n); }),
              names.end());
  if (names.size() > options_.maxNamesPerRequest) names.resize(options_.maxNamesPerRequest);
  return names;
}

std::shared_ptr<const registry::Keyring> PullSecretCache::combine(const std::vector<std::shared_ptr<const Entry>>& secrets) {
  std::shared_ptr<registry::Keyring> out;
  for (const auto& entry : secrets) {
    if (!entry || !entry->keyring) continue;
    if (!out) out = std::make_shared<registry::Keyring>();
    out->merge(*entry->keyring);
  }
  return out;
}

std::shared_ptr<const registry::Keyring> PullSecretCache::keyring(const PullSecretRefs& refs, Clock::time_point deadline) {
  if (refs.empty() || !valid_namespace(refs.namespace_)) return nullptr;
  const std::string& ns = refs.namespace_;
  std::shared_ptr<const Entry> account;
  if (refs.secrets.empty()) {
    if (!valid_object_name(refs.serviceAccount)) return nullptr;
    account = lookup(account_key(ns, refs.serviceAccount));
    if (!account) {
      if (Clock::now() >= deadline) return nullptr;
      account = read_service_account(ns, refs.serviceAccount);
    }
  }
  std::vector<std::shared_ptr<const Entry>> secrets;
  for (const std::string& name : secret_names(refs, account.get())) {
    auto entry = lookup(secret_key(ns, name));
    if (!entry) {
      if (Clock::now() >= deadline) break;  // the apiserver has stopped waiting for this review
      entry = read_secret(ns, name);
    }
    secrets.push_back(std::move(entry));
  }
  return combine(secrets);
}

std::shared_ptr<const registry::Keyring> PullSecretCache::keyring(std::string_view namespace_,
                                                                  const std::vector<std::string>& secrets,
                                                                  std::string_view serviceAccount) {
  PullSecretRefs refs;
  refs.namespace_ = std::string(namespace_);
  refs.secrets = secrets;
  refs.serviceAccount = std::string(serviceAccount);
  return keyring(refs);
}

std::optional<std::shared_ptr<const registry::Keyring>> PullSecretCache::cached(const PullSecretRefs& refs) {
  if (refs.empty() || !valid_namespace(refs.namespace_)) return std::shared_ptr<const registry::Keyring>();
  std::shared_ptr<const Entry> account;
  if (refs.secrets.empty()) {
    if (!valid_object_name(refs.serviceAccount)) return std::shared_ptr<const registry::Keyring>();
    account = lookup(account_key(refs.namespace_, refs.serviceAccount));
    if (!account) return std::nullopt;
  }
  std::vector<std::shared_ptr<const Entry>> secrets;
  for (const std::string& name : secret_names(refs, account.get())) {
    auto entry = lookup(secret_key(refs.namespace_, name));
    if (!entry) return std::nullopt;
    secrets.push_back(std::move(entry));
  }
  return combine(secrets);
}

}  // namespace podgate::policy
