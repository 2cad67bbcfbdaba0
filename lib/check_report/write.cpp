// The format switch, and the notes every format shows the person watching.

#include "check_report/format.h"

#include "util/text.h"

namespace podgate::check_report {

namespace detail {

std::string clean(std::string_view text) { return util::valid_utf8(text); }

void str(Writer& w, std::string_view key, std::string_view value) {
  w.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
  const std::string text = clean(value);
  w.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
}

const std::vector<RuleInfo>& rule_catalogue() {
  static const std::vector<RuleInfo> rules = {
      {"privileged", "PrivilegedContainer",
       "A container, init container or ephemeral container sets securityContext.privileged: true.",
       "A privileged container has full access to the node. Remove securityContext.privileged or set it to "
       "false. Configured by rules.privileged."},
      {"runtimeSockets", "RuntimeSocketMount",
       "A hostPath volume exposes a container runtime's socket (docker.sock, containerd.sock, crio.sock) or a "
       "directory that holds one.",
       "Whoever reaches the runtime socket controls every container on the node. Remove the hostPath volume. "
       "Configured by rules.runtimeSockets."},
      {"images", "ImageReference",
       "An image is untrusted, blocked, cannot be resolved to a digest, or is not pinned where a digest is required.",
       "Use images from the trusted registries, pinned by digest where required (podgate resolve --pin). "
       "Configured by rules.images."},
      {"scan", "ImageScanVerdict",
       "An image has no recent scan, or its scan found vulnerabilities or malware beyond the configured limits.",
       "Scan the image and import the report (podgate scans import), or fix what the scan found. Configured by "
       "rules.images.scan."},
      {"signatures", "ImageSignature",
       "An image carries no valid cosign signature from the configured keys or identities.",
       "Sign the image with cosign as the policy requires. Configured by rules.images.signatures."},
      {"podSecurity", "PodSecurityStandards",
       "The pod breaks a control of the Kubernetes Pod Security Standards (baseline or restricted).",
       "Change the field named in the message as the control requires. Configured by rules.podSecurity "
       "(pod-security.md)."},
      {std::string(kUnreadableRule), "UnreadableObject",
       "podgate cannot read the object (a field of the wrong type, a duplicate key); admission would refuse it.",
       "Fix the field the message names."},
      {std::string(kNoteRule), "CheckNote", "A remark of podgate check about a document it did not judge.",
       "Read the note; nothing was judged in this document."},
  };
  return rules;
}

RuleInfo rule_info(std::string_view id) {
  for (const auto& r : rule_catalogue())
    if (r.id == id) return r;
  return {std::string(id), std::string(id), "A podgate rule.", "See podgate's configuration reference."};
}

}  // namespace detail

void write(Format format, const std::vector<Document>& docs, const Tool& tool, std::ostream& out, std::ostream& notes) {
  for (const auto& d : docs)
    for (const auto& note : d.notes) notes << d.source() << ": " << note << "\n";
  switch (format) {
    case Format::Text: detail::write_text(docs, out); return;
    case Format::Json: detail::write_json(docs, tool, out); return;
    case Format::Sarif: detail::write_sarif(docs, tool, out); return;
    case Format::Junit: detail::write_junit(docs, tool, out); return;
  }
}

}  // namespace podgate::check_report
