// The signature step of the image rules (rules.images.signatures): an image under an entry must
// carry a cosign signature by one of the entry's keys over the digest podgate judged. The keys are
// read once by the Evaluator; the Reviewer looks the signatures up (lib/trust) between resolution
// and judgement; this file matches images to entries and judges the answers.

#include <algorithm>
#include <stdexcept>

#include "policy/rule_support.h"
#include "util/text.h"

namespace podgate::policy {

namespace {

using config::Action;

std::string repository_of(const image::Reference& ref) { return util::ascii_lowercase(ref.domain) + "/" + ref.path; }

// The digest a signature is looked up for: the pinned one, or the resolved one (an index's own
// digest, which is what `cosign sign` signs for a multi-arch tag). Empty when there is none.
std::string signed_digest(const PlannedImage& image) {
  const image::Reference& ref = *image.parsed.reference;
  if (!ref.digest.empty()) return ref.digest;
  return image.resolution && image.resolution->ok() ? image.resolution->digest : std::string();
}

std::string lookup_key(const image::Reference& ref, const std::string& digest, int rule) {
  return repository_of(ref) + "@" + digest + "#" + std::to_string(rule);
}

}  // namespace

std::vector<ImagePlan::SignatureLookup> ImagePlan::signatures_to_verify() const {
  std::vector<SignatureLookup> out;
  if (!rule || rule->action == Action::Off || !signatureKeys) return out;
  for (const PlannedImage& image : images) {
    if (image.exemption || image.refused || image.signatureRule < 0) continue;
    const std::string digest = signed_digest(image);
    if (digest.empty()) continue;
    const image::Reference& ref = *image.parsed.reference;
    std::string key = lookup_key(ref, digest, image.signatureRule);
    if (std::any_of(out.begin(), out.end(), [&](const SignatureLookup& l) { return l.key == key; })) continue;
    out.push_back(SignatureLookup{ref, digest, (*signatureKeys)[static_cast<std::size_t>(image.signatureRule)], std::move(key)});
  }
  return out;
}

void ImagePlan::put_signatures(
    const std::unordered_map<std::string, std::shared_ptr<const trust::SignatureCheck>>& answers) {
  signaturesChecked = true;
  for (PlannedImage& image : images) {
    if (image.exemption || image.refused || image.signatureRule < 0) continue;
    const std::string digest = signed_digest(image);
    if (digest.empty()) continue;
    if (auto it = answers.find(lookup_key(*image.parsed.reference, digest, image.signatureRule)); it != answers.end())
      image.signature = it->second;
  }
}

void check_signature_keys(const config::ImagesRule& rule) { detail::load_signature_keys(rule); }

namespace detail {

std::vector<std::shared_ptr<const trust::KeySet>> load_signature_keys(const config::ImagesRule& rule) {
  std::vector<std::shared_ptr<const trust::KeySet>> out;
  for (std::size_t i = 0; i < rule.signatures.size(); ++i) {
    std::vector<trust::PublicKey> keys;
    for (std::size_t j = 0; j < rule.signatures[i].keys.size(); ++j) {
      const std::string& entry = rule.signatures[i].keys[j];
      const std::string where = "rules.images.signatures[" + std::to_string(i) + "].keys[" + std::to_string(j) + "]";
      std::string why;
      const bool inline_pem = entry.find("-----BEGIN ") != std::string::npos;
      auto set = inline_pem ? trust::parse_public_keys(entry, &why) : trust::load_public_keys(entry, &why);
      if (!set) throw std::runtime_error(where + ": " + why);
      keys.insert(keys.end(), set->keys().begin(), set->keys().end());
    }
    out.push_back(std::make_shared<const trust::KeySet>(std::move(keys)));
  }
  return out;
}

void assign_signature_rules(const config::ImagesRule& rule, ImagePlan& plan) {
  if (rule.signatures.empty()) return;
  for (PlannedImage& image : plan.images) {
    if (image.exemption || image.refused || !image.parsed || image.signatureRule >= 0) continue;
    const std::string repository = repository_of(*image.parsed.reference);
    for (std::size_t i = 0; i < rule.signatures.size() && image.signatureRule < 0; ++i)
      for (const auto& pattern : rule.signatures[i].images)
        if (glob_match(pattern, repository)) {
          image.signatureRule = static_cast<int>(i);
          break;
        }
  }
}

// One image with a digest under a signature entry: what the registry holds decides.
void check_signature(const PodSpecInput& in, const PlannedImage& image, const std::string& digest, JudgedImage& judged,
                     std::vector<Finding>& findings) {
  const auto& images = in.rules.config.rules.images;
  if (image.signatureRule < 0 || !in.rules.images || !in.rules.images->signaturesChecked) return;
  const config::SignatureRule& entry = images.signatures[static_cast<std::size_t>(image.signatureRule)];
  const auto& check = image.signature;
  const trust::SignatureStatus status = check ? check->status : trust::SignatureStatus::Error;
  judged.signature = trust::to_string(status);
  if (status == trust::SignatureStatus::Verified) {
    judged.signatureKey = check->keyId;
    judged.signatureFormat = check->format;
    return;
  }
  Finding f;
  f.violation.rule = "signatures";
  f.violation.action = entry.action;
  f.violation.subject = image.subject;
  f.violation.fieldPath = image.field;
  f.violation.value = image.image;
  const std::string which = "rules.images.signatures[" + std::to_string(image.signatureRule) + "]";
  const std::string why = check ? check->detail : std::string("podgate has no registry access here");
  if (status == trust::SignatureStatus::Error) {
    const bool deny = images.onResolveError == config::OnResolveError::Deny;
    f.summary = "podgate could not check the signature of image " + quote(image.image) + " (" + digest + ") of " +
                image.subject + (deny ? "" : " (allowed by rules.images.onResolveError: allow)") + ": " + why;
    if (deny) {
      f.detail = f.summary + "; " + which + " requires a signature and rules.images.onResolveError is deny, so it is "
                 "refused until the registry answers. Retry.";
    } else {
      f.violation.action = Action::Warn;  // fail-open, by configuration, and said out loud
      f.detail = f.summary + ".";
    }
    judged.signature = deny ? "error" : "error_allowed";
  } else {
    f.summary = image.subject + " uses image " + quote(image.image) + " (" + digest + "), which " +
                (status == trust::SignatureStatus::Unsigned ? "is not signed" : "has no valid signature") +
                " by a trusted key: " + why;
    f.detail = f.summary + "; " + which + " admits only images signed by its keys. Sign it with `cosign sign --key` " +
               "and one of those keys, or correct the keys in the config.";
  }
  findings.push_back(std::move(f));
}

}  // namespace detail

}  // namespace podgate::policy
