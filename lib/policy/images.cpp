// The image rules (rules.images): the reference's form, trusted registries, the block list by name
// and by digest, requireDigest, and resolution at the registry; the scan step (scan_rule.cpp) then
// judges what passed. Every image is read once into the request's ImagePlan (planned here), which
// tells the Reviewer what to resolve and which scans to read before the rule judges from it.

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "policy/rule_support.h"
#include "util/text.h"

namespace podgate::policy {

namespace {

using config::Action;

// "docker.io/library/nginx": how the block and trust lists name a repository.
std::string repository_of(const image::Reference& ref) { return util::ascii_lowercase(ref.domain) + "/" + ref.path; }

// The digests an image runs as: its pinned digest, or the resolved one and then an index's
// children (the block list and the scan step look at all of them). Empty when it has none: the
// registry answered with a failure, or not at all.
std::vector<std::string> image_digests(const PlannedImage& image) {
  const image::Reference& ref = *image.parsed.reference;
  const auto& r = image.resolution;
  if (!ref.digest.empty()) {
    // A pinned index fetched for its children: the digest it names, then each platform's.
    std::vector<std::string> digests{ref.digest};
    if (r && r->ok() && r->digest == ref.digest)
      for (const auto& child : r->children) digests.push_back(child.digest);
    return digests;
  }
  if (!r || !r->ok()) return {};
  std::vector<std::string> digests{r->digest};
  for (const auto& child : r->children) digests.push_back(child.digest);
  return digests;
}

// The block-list entry that names one of `digests` (by digest, or repository@digest); null if none.
// The first digest named decides; of the entries naming it, the last one is reported.
const std::string* blocked_digest(const config::ImagesRule& rule, const std::string& repository,
                                  const std::vector<std::string>& digests) {
  const std::string* blocked = nullptr;
  for (const auto& d : digests) {
    for (const auto& entry : rule.blocked)
      if (entry == d || entry == repository + "@" + d) blocked = &entry;
    if (blocked) break;
  }
  return blocked;
}

}  // namespace

std::vector<image::Reference> ImagePlan::refs_to_resolve() const {
  std::vector<image::Reference> out;
  for (const PlannedImage& image : images) {
    if (!image.needs_registry()) continue;
    const std::string key = image.parsed.reference->canonical();
    if (std::none_of(out.begin(), out.end(), [&](const image::Reference& r) { return r.canonical() == key; }))
      out.push_back(*image.parsed.reference);
  }
  return out;
}

void ImagePlan::resolve(const ImageResolutions& resolutions) {
  for (PlannedImage& image : images) {
    if (!image.needs_registry()) continue;
    if (auto it = resolutions.find(image.parsed.reference->canonical()); it != resolutions.end())
      image.resolution = it->second;
  }
}

std::vector<std::string> ImagePlan::digests_to_scan() const {
  std::vector<std::string> out;
  if (!rule || rule->action == Action::Off || rule->scan.action == Action::Off) return out;
  for (const PlannedImage& image : images) {
    if (image.exemption || image.refused) continue;
    const std::vector<std::string> digests = image_digests(image);
    if (digests.empty() || blocked_digest(*rule, repository_of(*image.parsed.reference), digests)) continue;
    for (const auto& d : digests)
      if (std::find(out.begin(), out.end(), d) == out.end()) out.push_back(d);
  }
  return out;
}

namespace detail {

namespace {

constexpr std::string_view kRuleImages = "images";

// One image in a pod spec: a container's image or an image volume's reference.
struct ImageSite {
  std::string subject;
  std::string field;
  std::string_view image;
  const admission::Container* container = nullptr;  // null for an image volume
};

// Every image of a pod spec, in spec order.
std::vector<ImageSite> image_sites(const admission::PodSpec& spec) {
  std::vector<ImageSite> sites;
  for (const admission::Container& c : spec.containers)
    sites.push_back(ImageSite{std::string(container_noun(c.list)) + " " + quote(c.name),
                              field_prefix(spec) + admission::field_name(c.list) + "[" + std::to_string(c.index) + "].image",
                              c.image, &c});
  for (const auto& v : spec.volumes)
    if (v.imageReference)
      sites.push_back(ImageSite{"volume " + quote(v.name),
                                field_prefix(spec) + "volumes[" + std::to_string(v.index) + "].image.reference",
                                *v.imageReference, nullptr});
  return sites;
}

std::optional<ExemptionRef> site_exemption(const RuleSet& rules, const Scope& scope, const ImageSite& site) {
  if (site.container) return container_exemption(rules, scope, *site.container);
  if (scope.serviceAccount) return ExemptionRef{"serviceAccount", *scope.serviceAccount};
  if (image_exempt(rules.config.exemptions, site.image)) return ExemptionRef{"image", site.image};
  return std::nullopt;
}

// The checks that need no registry: the reference's form, trust, the block list by name, and
// requireDigest. Returns the refusal, or nullopt when the image passes them.
std::optional<ImageRefusal> static_image_check(const config::ImagesRule& rule, const ImageSite& site,
                                               const image::ParseResult& parsed) {
  ImageRefusal f;
  if (!parsed) {
    f.summary = site.subject + " has image " + quote(site.image) + " at " + site.field +
                ", which is not a valid image reference (" + parsed.error + ")";
    f.detail = f.summary + "; the kubelet could not pull it either. Correct the image name.";
    return f;
  }
  const image::Reference& ref = *parsed.reference;
  const std::string domain = util::ascii_lowercase(ref.domain);
  const std::string repository = domain + "/" + ref.path;
  if (!rule.trustedRegistries.empty()) {
    const bool trusted = std::any_of(rule.trustedRegistries.begin(), rule.trustedRegistries.end(), [&](const std::string& t) {
      return t.back() == '/' ? (repository + "/").starts_with(t) : domain == t;
    });
    if (!trusted) {
      std::string list;
      for (std::size_t i = 0; i < rule.trustedRegistries.size() && i < 5; ++i) list += (i ? ", " : "") + rule.trustedRegistries[i];
      if (rule.trustedRegistries.size() > 5) list += ", ...";
      f.summary = site.subject + " uses image " + quote(site.image) + " from " + repository + ", which is not a trusted registry";
      f.detail = f.summary + "; only images from " + list +
                 " are admitted (rules.images.trustedRegistries). Copy the image into a trusted registry.";
      return f;
    }
  }
  for (const auto& entry : rule.blocked) {
    const bool hit = entry == repository || (!ref.tag.empty() && entry == repository + ":" + ref.tag) ||
                     (!ref.digest.empty() && (entry == ref.digest || entry == repository + "@" + ref.digest));
    if (hit) {
      f.summary = site.subject + " uses image " + quote(site.image) + ", which is blocked (" + entry + ")";
      f.detail = f.summary + "; it is on the list of known-bad images (rules.images.blocked). Use another image.";
      return f;
    }
  }
  if (rule.requireDigest && ref.digest.empty()) {
    f.summary = site.subject + " uses image " + quote(site.image) + " without a digest";
    f.detail = f.summary + "; rules.images.requireDigest admits only images pinned by digest, because a tag can be "
                           "re-pushed. Use " + repository + "@sha256:<digest> (`podgate resolve` prints it).";
    return f;
  }
  return std::nullopt;
}

// An image-rule finding about `image`, summary and detail still to be written.
Finding image_finding(const config::ImagesRule& rule, const PlannedImage& image) {
  Finding f;
  f.violation.rule = kRuleImages;
  f.violation.action = rule.action;
  f.violation.subject = image.subject;
  f.violation.fieldPath = image.field;
  f.violation.value = image.image;
  return f;
}

void record(const PodSpecInput& in, JudgedImage judged) {
  if (in.verdict) in.verdict->images.push_back(std::move(judged));
}

// An image the registry did not resolve: it does not exist, or the registry could not be asked or
// did not answer (onResolveError decides).
Finding unresolved_finding(const PodSpecInput& in, const config::ImagesRule& rule, const PlannedImage& image) {
  Finding f = image_finding(rule, image);
  const auto& r = image.resolution;
  if (r && r->failure == registry::Failure::NotFound) {
    f.summary = image.subject + " uses image " + quote(image.image) + ", which does not exist (" + r->error + ")";
    f.detail = f.summary + "; check the name and tag: the kubelet could not pull it either.";
    return f;
  }
  const std::string why = r ? r->error : std::string("podgate has no registry access here");
  const bool deny = rule.onResolveError == config::OnResolveError::Deny;
  const bool pinned = !image.parsed.reference->digest.empty();
  f.summary = std::string(pinned ? "podgate could not fetch the manifest of image " : "podgate could not resolve image ") +
              quote(image.image) + " of " + image.subject + (pinned ? " (for an index's platforms)" : " to a digest") +
              (deny ? "" : " (allowed by rules.images.onResolveError: allow)") + ": " + why;
  if (deny) {
    f.detail = f.summary + "; rules.images.onResolveError is deny, so it is refused until the registry answers. "
                           "Retry, or pin the image by digest.";
    if (in.verdict) ++in.verdict->resolveFailuresDenied;
  } else {
    f.violation.action = Action::Warn;  // fail-open, by configuration, and said out loud
    f.detail = f.summary + ".";
    if (in.verdict) ++in.verdict->resolveFailuresAllowed;
  }
  return f;
}

// One image that passed the checks that need no registry: its digests, the block list by digest,
// then the scan step.
void judge_image(const PodSpecInput& in, const PlannedImage& image, std::vector<Finding>& findings) {
  const auto& rule = in.rules.config.rules.images;
  const std::vector<std::string> digests = image_digests(image);
  if (digests.empty()) {
    findings.push_back(unresolved_finding(in, rule, image));
    record(in, JudgedImage{image.subject, image.image, "", "", "", "", "", ""});
    return;
  }
  // A pinned image fetched for its children that the registry did not give: judged by its own
  // digest, and the failure said (onResolveError decides, as for a tag). Without a resolver at
  // all (no answer), a pinned image is judged by its digest alone, as before fetching existed.
  if (image.fetchPinned && !image.parsed.reference->digest.empty() && image.resolution && !image.resolution->ok())
    findings.push_back(unresolved_finding(in, rule, image));
  const std::string& digest = digests.front();
  JudgedImage judged{image.subject, image.image, digest, "", "", "", "", ""};
  if (const std::string* blocked = blocked_digest(rule, repository_of(*image.parsed.reference), digests)) {
    Finding f = image_finding(rule, image);
    f.summary = image.subject + " uses image " + quote(image.image) + " (" + digest + "), which is blocked (" + *blocked + ")";
    f.detail = f.summary + "; it is on the list of known-bad images (rules.images.blocked). Use another image.";
    findings.push_back(std::move(f));
  } else {
    if (rule.scan.action != Action::Off) check_scan(in.rules, image, digests, judged, findings);
    check_signature(in, image, digest, judged, findings);
  }
  record(in, std::move(judged));
}

}  // namespace

void plan_spec_images(const RuleSet& rules, const Scope& scope, const admission::PodSpec& spec, bool old,
                      ImagePlan& plan) {
  for (const ImageSite& site : image_sites(spec)) {
    PlannedImage image;
    image.old = old;
    image.subject = site.subject;
    image.field = site.field;
    image.image = std::string(site.image);
    if (const auto by = site_exemption(rules, scope, site)) {
      image.exemption = Exemption{std::string(by->kind), std::string(by->value)};
    } else {
      const auto& rule = rules.config.rules.images;
      image.parsed = image::parse(site.image);
      image.refused = static_image_check(rule, site, image.parsed);
      image.fetchPinned = rule.scan.action != Action::Off ||
                          std::any_of(rule.blocked.begin(), rule.blocked.end(),
                                      [](const std::string& e) { return e.find("sha256:") != std::string::npos; });
    }
    plan.images.push_back(std::move(image));
  }
}

// The rule's entry (rules.cpp): judges the planned images of the spec in `in` (object or oldObject).
void check_images(const PodSpecInput& in, std::vector<Finding>& findings) {
  const auto& rule = in.rules.config.rules.images;
  if (rule.action == Action::Off || !in.rules.images) return;
  for (const PlannedImage& image : in.rules.images->images) {
    if (image.old != in.old) continue;
    if (image.exemption) {
      in.exempt.add(image.exemption->kind, image.exemption->value);
      continue;
    }
    if (image.refused) {
      // Recorded too (with the digest it was written with, if any): with action warn it is admitted.
      record(in, JudgedImage{image.subject, image.image, image.parsed ? image.parsed.reference->digest : "", "", "", "", "", ""});
      Finding f = image_finding(rule, image);
      f.summary = image.refused->summary;
      f.detail = image.refused->detail;
      findings.push_back(std::move(f));
      continue;
    }
    judge_image(in, image, findings);
  }
}

}  // namespace detail

}  // namespace podgate::policy
