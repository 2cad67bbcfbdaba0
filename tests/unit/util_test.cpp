// lib/util: the ASCII case helpers, the Go duration parser, RFC 3339 and JSON type names that the
// other libraries share.

#include <catch2/catch.hpp>

#include <rapidjson/document.h>

#include "util/base64.h"
#include "util/duration.h"
#include "util/json.h"
#include "util/json_depth.h"
#include "util/text.h"
#include "util/time.h"

using namespace podgate::util;

TEST_CASE("ASCII case helpers fold A-Z only", "[util]") {
  CHECK(ascii_lowercase("Docker.IO/Library") == "docker.io/library");
  CHECK(ascii_lowercase("\xC3\x84Z") == "\xC3\x84z");  // UTF-8 bytes are left alone
  CHECK(ascii_iequals("Bearer", "bEARER"));
  CHECK_FALSE(ascii_iequals("Bearer", "Bearer "));
  CHECK_FALSE(ascii_iequals("[", "{"));  // '[' + 32 is '{': folding is for letters only
  CHECK(ascii_istarts_with("BEARER abc", "bearer "));
  CHECK_FALSE(ascii_istarts_with("bear", "bearer"));
}

TEST_CASE("parse_go_duration follows Go's grammar", "[util]") {
  auto nanos = [](std::string_view text) {
    const auto d = parse_go_duration(text);
    REQUIRE(d);
    return d->nanos;
  };
  CHECK(nanos("10s") == 10'000'000'000ULL);
  CHECK(nanos("1h2m3.5s") == 3723'500'000'000ULL);
  CHECK(nanos("500ms") == 500'000'000ULL);
  CHECK(nanos("1.5h") == 5400'000'000'000ULL);
  CHECK(nanos("2us") == 2000);
  CHECK(nanos("2\xC2\xB5s") == 2000);
  CHECK(nanos("0m20s") == 20'000'000'000ULL);
  CHECK(parse_go_duration("-2m")->negative);
  CHECK_FALSE(parse_go_duration("+2m")->negative);
  for (const char* bad : {"", "10", "0", "s", ".s", "5x", "5s5", "-", "1 s", "%35s"}) {
    INFO(bad);
    CHECK_FALSE(parse_go_duration(bad));
  }
}

TEST_CASE("parse_go_duration reports precision and range", "[util]") {
  CHECK_FALSE(parse_go_duration("1s500ms")->subMillisecond);
  CHECK(parse_go_duration("1ns")->subMillisecond);
  CHECK(parse_go_duration("1.0000000001s")->inexact);
  const auto huge = parse_go_duration("99999999999999999999999999h");
  REQUIRE(huge);
  CHECK(huge->overflow);
  CHECK(huge->nanos == ~std::uint64_t{0});
  const auto big = parse_go_duration("99999999999h");  // past uint64 nanoseconds, not past the cap
  REQUIRE(big);
  CHECK_FALSE(big->overflow);
  CHECK(big->nanos == ~std::uint64_t{0});
}

TEST_CASE("rfc3339 formats UTC", "[util]") {
  CHECK(rfc3339(0) == "1970-01-01T00:00:00Z");
  CHECK(rfc3339(1764324000) == "2025-11-28T10:00:00Z");
  std::string out = "ts=";
  append_rfc3339_millis(out, std::chrono::system_clock::time_point(std::chrono::milliseconds(1764324000123)));
  CHECK(out == "ts=2025-11-28T10:00:00.123Z");
}

TEST_CASE("parse_rfc3339 reads what Go writes and nothing else", "[util]") {
  CHECK(parse_rfc3339("2025-11-28T10:00:00Z") == std::optional<std::int64_t>(1764324000));
  CHECK(parse_rfc3339("2025-11-28T10:00:00.123456789Z") == std::optional<std::int64_t>(1764324000));
  CHECK(parse_rfc3339("2025-11-28T05:00:00-05:00") == std::optional<std::int64_t>(1764324000));
  CHECK(parse_rfc3339("1970-01-01T00:00:00z") == std::optional<std::int64_t>(0));
  CHECK(parse_rfc3339("2024-02-29T00:00:00Z").has_value());
  for (const char* bad : {"", "2025-11-28", "2025-11-28T10:00:00", "2025-11-28 10:00:00Z", "2025-02-29T00:00:00Z",
                          "2025-11-28T10:00:60Z", "2025-11-28T10:00:00.Z", "2025-11-28T10:00:00Zx", "2025-13-01T00:00:00Z"})
    CHECK_FALSE(parse_rfc3339(bad).has_value());
}

TEST_CASE("json_type_name names every JSON type", "[util]") {
  rapidjson::Document doc;
  doc.Parse(R"([null, true, false, 1, "s", [], {}])");
  REQUIRE(doc.IsArray());
  const char* expected[] = {"null", "a boolean", "a boolean", "a number", "a string", "an array", "an object"};
  for (rapidjson::SizeType i = 0; i < doc.Size(); ++i) CHECK(std::string(json_type_name(doc[i])) == expected[i]);
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  write_key(w, "k");
  write_string(w, std::string_view("a\"b\0c", 5));
  write_key(w, std::string_view());
  write_string(w, std::string_view());  // null data: RapidJSON would assert
  w.EndObject();
  CHECK(to_string(buffer) == std::string("{\"k\":\"a\\\"b\\u0000c\",\"\":\"\"}"));
}

TEST_CASE("decode_base64: padding modes, skipped space, bound", "[util]") {
  using podgate::util::Base64Error;
  using podgate::util::Base64Options;
  using podgate::util::decode_base64;
  Base64Options required, forbidden, spaces;
  required.padding = Base64Options::Padding::Required;
  forbidden.padding = Base64Options::Padding::Forbidden;
  spaces.skipAllWhitespace = true;
  CHECK(decode_base64("dXNlcjpwYXNz", 100) == "user:pass");
  CHECK(decode_base64("dXNlcjpw", 100) == "user:p");
  CHECK(decode_base64("dXNlcjo=", 100) == "user:");       // padded: fine when optional
  CHECK(decode_base64("dXNlcjo", 100) == "user:");        // unpadded: fine when optional
  CHECK(decode_base64("dXNlcjo=", 100, nullptr, required) == "user:");
  CHECK_FALSE(decode_base64("dXNlcjo", 100, nullptr, required));
  CHECK(decode_base64("dXNlcjo", 100, nullptr, forbidden) == "user:");
  CHECK_FALSE(decode_base64("dXNlcjo=", 100, nullptr, forbidden));
  CHECK(decode_base64("dXNl\r\ncjo=", 100) == "user:");   // \r\n always skipped
  CHECK_FALSE(decode_base64("dXNl cjo=", 100));           // other space only when asked
  CHECK(decode_base64("  dXNl\tcjo=\n", 100, nullptr, spaces) == "user:");
  CHECK_FALSE(decode_base64("dXN=lcjo", 100));            // data after padding
  Base64Error error = Base64Error::None;
  CHECK_FALSE(decode_base64("dXNlcjpwYXNz", 8, &error));  // 9 bytes, bound 8: refused before decoding
  CHECK(error == Base64Error::TooLarge);
  CHECK_FALSE(decode_base64("dXNlc!pw", 100, &error));
  CHECK(error == Base64Error::Invalid);
}

TEST_CASE("parse_depth_limited refuses deep nesting without recursing", "[util]") {
  rapidjson::Document doc;
  std::string why;
  CHECK(podgate::util::parse_depth_limited(R"({"a":[{"b":1}]})", doc, 3, &why));
  CHECK_FALSE(podgate::util::parse_depth_limited(R"({"a":[{"b":[1]}]})", doc, 3, &why));
  CHECK(why == "JSON nested deeper than 3 levels");
  // A million levels: refused at the bound, with no stack to speak of.
  const std::string deep = std::string(1000000, '[') + std::string(1000000, ']');
  CHECK_FALSE(podgate::util::parse_depth_limited(deep, doc, 100, &why));
  CHECK_FALSE(podgate::util::parse_depth_limited(std::string("{\"a\":\0}", 7), doc, 10, &why));
  CHECK(why.find("NUL byte") != std::string::npos);
  CHECK_FALSE(podgate::util::parse_depth_limited("{\"a\":\"\xff\"}", doc, 10, &why));  // not UTF-8
}
