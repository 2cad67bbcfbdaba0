#include "policy/verdict_json.h"

#include <initializer_list>

namespace podgate::policy::detail {

namespace {

void write_text(JsonWriter& w, const StringWriter& write, std::string_view text) {
  if (write) write(w, text);
  else util::write_string(w, text);
}

struct Member {
  std::string_view key;
  const StringWriter& how;
  std::string_view value;
};

void write_members(JsonWriter& w, std::initializer_list<Member> members) {
  for (const Member& m : members) {
    util::write_key(w, m.key);
    write_text(w, m.how, m.value);
  }
}

}  // namespace

void write_violation(JsonWriter& w, const Violation& violation, const ViolationText& text) {
  w.StartObject();
  write_members(w, {{"rule", text.other, violation.rule}, {"action", text.other, config::to_string(violation.action)},
                    {"subject", text.request, violation.subject}, {"field", text.other, violation.fieldPath},
                    {"value", text.request, violation.value}});
  if (!violation.control.empty())
    write_members(w, {{"control", text.other, violation.control}, {"level", text.other, violation.level}});
  if (violation.preexisting) {
    w.Key("preexisting");
    w.Bool(true);
  }
  w.EndObject();
}

std::size_t write_violations(JsonWriter& w, const rapidjson::StringBuffer& output,
                             const std::vector<Violation>& violations, ArrayBounds bounds, const ViolationText& text) {
  return write_bounded_array(w, output, violations, bounds,
                             [&text](JsonWriter& out, const Violation& v) { write_violation(out, v, text); });
}

void write_judged_image(JsonWriter& w, const JudgedImage& image, const ViolationText& text) {
  w.StartObject();
  write_members(w, {{"subject", text.request, image.subject}, {"image", text.request, image.image},
                    {"digest", text.other, image.digest}});
  if (!image.scan.empty()) write_members(w, {{"scan", text.other, image.scan}, {"scans", text.other, image.scanBasis}});
  if (!image.signature.empty()) write_members(w, {{"signature", text.other, image.signature}});
  if (!image.signatureKey.empty())
    write_members(w, {{"signedBy", text.other, image.signatureKey}, {"signatureFormat", text.other, image.signatureFormat}});
  w.EndObject();
}

}  // namespace podgate::policy::detail
