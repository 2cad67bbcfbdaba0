#pragma once
// One way to write and describe JSON: RapidJSON's Writer, with string_view in and out.

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <initializer_list>
#include <string>
#include <utility>
#include <string_view>

namespace podgate::util {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

// Any bytes, a default (null) string_view included: RapidJSON asserts on a null pointer even for
// an empty string, and the decision log's writer used to guard this on its own.
inline void write_string(JsonWriter& w, std::string_view s) {
  w.String(s.data() ? s.data() : "", static_cast<rapidjson::SizeType>(s.size()));
}
inline void write_key(JsonWriter& w, std::string_view k) {
  w.Key(k.data() ? k.data() : "", static_cast<rapidjson::SizeType>(k.size()));
}
// String members of the object being written, in order: {"key": "value", ...}.
inline void write_members(JsonWriter& w, std::initializer_list<std::pair<std::string_view, std::string_view>> members) {
  for (const auto& [key, value] : members) {
    write_key(w, key);
    write_string(w, value);
  }
}
inline std::string to_string(const rapidjson::StringBuffer& b) { return std::string(b.GetString(), b.GetSize()); }

// "a string", "an object", ...: what a JSON value is, for "expected X, got Y" messages.
const char* json_type_name(const rapidjson::Value& v);

}  // namespace podgate::util
