#include "audit/wanted.h"

#include <rapidjson/document.h>

#include <algorithm>
#include <map>
#include <string_view>
#include <utility>

#include "image/reference.h"
#include "util/json.h"
#include "util/json_depth.h"
#include "util/time.h"

namespace podgate::audit {

namespace {

// The projection's `object` is podgate's own compact JSON, a few levels deep.
constexpr unsigned kMaxObjectDepth = 32;

// The repository an image names ("docker.io/library/nginx"), or "" when it names none. A runtime
// may report a bare image ID ("sha256:<hex>") as the status image, which the reference grammar
// would read as the repository "docker.io/library/sha256": it is refused here.
std::string repository_of(std::string_view image) {
  if (image.empty() || image.starts_with("sha256:") || image.starts_with("sha512:")) return {};
  const image::ParseResult parsed = image::parse(image);
  return parsed ? parsed.reference->repository() : std::string();
}

const rapidjson::Value* member(const rapidjson::Value& v, const char* name) {
  if (!v.IsObject()) return nullptr;
  const auto it = v.FindMember(name);
  return it == v.MemberEnd() ? nullptr : &it->value;
}

// The spec image of container `name` in the list `list` of a projected Pod, or "".
std::string spec_image(const rapidjson::Document& object, const std::string& list, const std::string& name) {
  const rapidjson::Value* spec = member(object, "spec");
  const rapidjson::Value* containers = spec ? member(*spec, list.c_str()) : nullptr;
  if (!containers || !containers->IsArray()) return {};
  for (const auto& c : containers->GetArray()) {
    const rapidjson::Value* n = member(c, "name");
    const rapidjson::Value* image = member(c, "image");
    if (n && n->IsString() && name == n->GetString() && image && image->IsString())
      return std::string(image->GetString(), image->GetStringLength());
  }
  return {};
}

// One Pod's digests, each with the repository one of its containers names ("" when none does).
std::map<std::string, std::string> pod_digests(const PodProjection& pod) {
  std::map<std::string, std::string> digests;
  rapidjson::Document object;
  bool parsed = false;  // the object is parsed only when a status image names no repository
  for (const auto& status : pod.statuses) {
    if (!image::is_valid_digest(status.digest)) continue;
    std::string repository = repository_of(status.image);
    if (repository.empty()) {
      if (!parsed) {
        parsed = true;
        if (!util::parse_depth_limited(pod.object, object, kMaxObjectDepth)) object.SetNull();
      }
      repository = repository_of(spec_image(object, status.list, status.name));
    }
    std::string& known = digests[status.digest];
    if (known.empty()) known = std::move(repository);
  }
  return digests;
}

struct Running {
  RunningImage image;
  std::int64_t referenceSince = 0;  // the creationTimestamp of the Pod the reference came from
};

}  // namespace

std::vector<RunningImage> running_images(const std::vector<std::shared_ptr<const PodProjection>>& pods) {
  std::map<std::string, Running> byDigest;
  for (const auto& pod : pods) {
    if (!pod) continue;
    for (auto& [digest, repository] : pod_digests(*pod)) {
      auto [it, added] = byDigest.try_emplace(digest);
      RunningImage& image = it->second.image;
      if (added) {
        image.digest = digest;
        image.since = pod->createdAt;
      }
      image.since = std::min(image.since, pod->createdAt);
      ++image.pods;
      if (repository.empty()) continue;
      // The oldest Pod's repository (then the smallest name), whatever order the cache lists Pods in.
      std::string reference = repository + "@" + digest;
      Running& r = it->second;
      if (r.image.reference.empty() || pod->createdAt < r.referenceSince ||
          (pod->createdAt == r.referenceSince && reference < r.image.reference)) {
        r.image.reference = std::move(reference);
        r.referenceSince = pod->createdAt;
      }
    }
  }
  std::vector<RunningImage> out;
  for (auto& [digest, r] : byDigest)
    if (!r.image.reference.empty()) out.push_back(std::move(r.image));
  return out;
}

std::vector<WantedImage> wanted_images(const std::vector<RunningImage>& running,
                                       const std::vector<policy::AdmittedDigest>& admitted, scan::Store& store,
                                       std::chrono::milliseconds maxAge, std::int64_t now, std::size_t limit) {
  std::map<std::string, WantedImage> candidates;
  for (const auto& r : running) {
    if (!image::is_valid_digest(r.digest) || r.reference.empty()) continue;
    candidates[r.digest] = WantedImage{r.digest, r.reference, r.since, 0, true, r.pods};
  }
  for (const auto& a : admitted) {
    if (!image::is_valid_digest(a.digest)) continue;
    auto it = candidates.find(a.digest);
    if (it != candidates.end()) {
      it->second.since = std::min(it->second.since, a.firstSeen);
    } else if (!a.reference.empty()) {
      candidates[a.digest] = WantedImage{a.digest, a.reference, a.firstSeen, 0, false, 0};
    }
  }
  std::vector<WantedImage> ordered;
  ordered.reserve(candidates.size());
  for (auto& [digest, w] : candidates) ordered.push_back(std::move(w));
  std::stable_sort(ordered.begin(), ordered.end(),
                   [](const WantedImage& a, const WantedImage& b) { return a.since < b.since; });

  // Freshness as the scan rule counts it (lib/policy/scan_rule.cpp): now - scannedAt <= maxScanAge.
  // The store is asked only until `limit` are found.
  const std::int64_t maxAgeSeconds = std::chrono::duration_cast<std::chrono::seconds>(maxAge).count();
  std::vector<WantedImage> wanted;
  for (auto& w : ordered) {
    if (wanted.size() >= limit) break;
    const auto records = store.lookup(w.digest);
    std::int64_t newest = 0;
    if (records)
      for (const auto& record : *records) newest = std::max(newest, record.scannedAt);
    if (newest != 0 && now - newest <= maxAgeSeconds) continue;
    w.scannedAt = newest;
    wanted.push_back(std::move(w));
  }
  return wanted;
}

std::string wanted_json(const std::vector<WantedImage>& wanted) {
  rapidjson::StringBuffer buffer;
  util::JsonWriter w(buffer);
  w.StartObject();
  util::write_members(w, {{"apiVersion", "podgate.io/v1alpha1"}, {"kind", "WantedScans"}});
  util::write_key(w, "items");
  w.StartArray();
  for (const auto& item : wanted) {
    w.StartObject();
    util::write_members(w, {{"digest", item.digest}, {"reference", item.reference},
                            {"since", util::rfc3339(item.since)}});
    util::write_key(w, "scannedAt");
    if (item.scannedAt == 0)
      w.Null();
    else
      util::write_string(w, util::rfc3339(item.scannedAt));
    util::write_key(w, "running");
    w.Bool(item.running);
    util::write_key(w, "pods");
    w.Uint64(item.pods);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return util::to_string(buffer);
}

}  // namespace podgate::audit
