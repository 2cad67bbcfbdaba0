#include "policy/verdict_json.h"

namespace podgate::policy::detail {

namespace {
void write_text(JsonWriter& w, const StringWriter& write, std::string_view text) {
  if (write) write(w, text);
  else util::write_string(w, text);
}
}  // namespace

void write_violation(JsonWriter& w, const Violation& violation, const ViolationText& text) {
  w.StartObject();
  w.Key("rule");
  write_text(w, text.other, violation.rule);
  w.Key("action");
  write_text(w, text.other, config::to_string(violation.action));
  w.Key("subject");
  write_text(w, text.request, violation.subject);
  w.Key("field");
  write_text(w, text.other, violation.fieldPath);
  w.Key("value");
  write_text(w, text.request, violation.value);
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
  w.Key("subject");
  write_text(w, text.request, image.subject);
  w.Key("image");
  write_text(w, text.request, image.image);
  w.Key("digest");
  write_text(w, text.other, image.digest);
  if (!image.scan.empty()) {
    w.Key("scan");
    write_text(w, text.other, image.scan);
    w.Key("scans");
    write_text(w, text.other, image.scanBasis);
  }
  w.EndObject();
}

}  // namespace podgate::policy::detail
