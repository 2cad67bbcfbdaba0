// Helpers the rules share (rule_support.h): message text, container identities, exemptions.

#include <algorithm>

#include "policy/rule_support.h"

namespace podgate::policy::detail {

namespace {
constexpr std::size_t kMaxQuotedBytes = 128;
}  // namespace

// Cuts `s` to at most `max` bytes on a UTF-8 character boundary, marking the cut with "…".
void truncate_utf8(std::string& s, std::size_t max) {
  if (s.size() <= max) return;
  static constexpr std::string_view kEllipsis = "\xE2\x80\xA6";
  std::size_t cut = max - kEllipsis.size();
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  s.resize(cut);
  s += kEllipsis;
}

// A name or path from the request, made safe for a one-line message: control characters become
// '?', and it is bounded. (Input was validated as UTF-8 by the decoder.)
std::string printable(std::string_view s) {
  std::string out;
  out.reserve(std::min(s.size(), kMaxQuotedBytes + 3));
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    out += (u < 0x20 || u == 0x7f) ? '?' : c;
    if (out.size() > kMaxQuotedBytes + 3) break;
  }
  truncate_utf8(out, kMaxQuotedBytes);
  return out;
}

std::string quote(std::string_view s) { return "\"" + printable(s) + "\""; }

const char* container_noun(admission::ContainerList list) {
  switch (list) {
    case admission::ContainerList::Init: return "init container";
    case admission::ContainerList::Regular: return "container";
    case admission::ContainerList::Ephemeral: return "ephemeral container";
  }
  return "container";
}

std::string field_prefix(const admission::PodSpec& spec) {
  return spec.fieldPath.empty() ? std::string() : spec.fieldPath + ".";
}

std::string container_key(const admission::Container& c) {
  return std::string(admission::field_name(c.list)) + "/" + std::string(c.name);
}

bool image_exempt(const config::Exemptions& exemptions, std::string_view image) {
  for (const auto& pattern : exemptions.images)
    if (glob_match(pattern, image)) return true;
  return false;
}

std::optional<ExemptionRef> container_exemption(const RuleSet& rules, const Scope& scope, const admission::Container& c) {
  if (scope.ephemeralUnexempt && c.list == admission::ContainerList::Ephemeral) return std::nullopt;
  if (scope.serviceAccount) return ExemptionRef{"serviceAccount", *scope.serviceAccount};
  if (image_exempt(rules.config.exemptions, c.image)) return ExemptionRef{"image", c.image};
  return std::nullopt;
}

void ExemptionLog::add(std::string_view kind, std::string_view value) const {
  if (!out) return;
  for (const auto& e : *out)
    if (e.kind == kind && e.value == value) return;
  out->push_back(Exemption{std::string(kind), std::string(value)});
}

// Service-account and image exemptions are weak: whoever creates the pod chooses both. A violation
// one of them lets through is said out loud, so the requester and the audit log see it.
void ExemptionLog::suppressed(const ExemptionRef& by, const std::string& summary) const {
  add(by.kind, by.value);
  if (!notes) return;
  std::string note = "allowed only by the " + std::string(by.kind) + " exemption " + quote(by.value) + ": " + summary;
  if (std::find(notes->begin(), notes->end(), note) == notes->end()) notes->push_back(std::move(note));
}

}  // namespace podgate::policy::detail
