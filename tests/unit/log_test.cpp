// The JSON line logger (lib/log): line shape and typed fields, the level filter, concurrent
// writers, parse_level, and bounded strings cut on a UTF-8 boundary.

#include <catch2/catch.hpp>
#include <rapidjson/document.h>
#include <unistd.h>

#include <string>
#include <thread>
#include <vector>

#include "log/log.h"
#include "support/log_capture.h"

namespace {

using Pipe = podgate::test::LogCapture;

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    auto end = text.find('\n', start);
    REQUIRE(end != std::string::npos);  // every line is terminated
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

}  // namespace

TEST_CASE("log lines are single JSON objects with ts, level, msg and typed fields", "[log]") {
  Pipe pipe;
  {
    podgate::log::Logger logger(pipe.writer(), podgate::log::Level::Info);
    logger.line(podgate::log::Level::Warn, "admission denied")
        .str("uid", "abc")
        .str("tricky", "quote\" backslash\\ newline\n tab\t ctl\x01")
        .integer("count", 3)
        .num("latencyMs", 0.25)
        .boolean("dryRun", true)
        .strings("groups", std::vector<std::string>{"a", "b"})
        .raw_json("violations", R"([{"rule":"privileged"}])");
  }
  auto lines = lines_of(pipe.drain());
  REQUIRE(lines.size() == 1);
  rapidjson::Document doc;
  doc.Parse(lines[0].c_str());
  REQUIRE_FALSE(doc.HasParseError());
  CHECK(std::string(doc["level"].GetString()) == "warn");
  CHECK(std::string(doc["msg"].GetString()) == "admission denied");
  CHECK(std::string(doc["ts"].GetString()).size() == 24);  // 2026-11-29T22:10:25.123Z
  CHECK(std::string(doc["tricky"].GetString()) == "quote\" backslash\\ newline\n tab\t ctl\x01");
  CHECK(doc["count"].GetInt() == 3);
  CHECK(doc["latencyMs"].GetDouble() == Approx(0.25));
  CHECK(doc["dryRun"].GetBool());
  CHECK(doc["groups"].Size() == 2);
  CHECK(std::string(doc["violations"][0]["rule"].GetString()) == "privileged");
}

TEST_CASE("lines below the minimum level are dropped, non-finite numbers become null", "[log]") {
  Pipe pipe;
  {
    podgate::log::Logger logger(pipe.writer(), podgate::log::Level::Warn);
    logger.line(podgate::log::Level::Info, "dropped").str("k", "v");
    logger.line(podgate::log::Level::Error, "kept").num("nan", 0.0 / 0.0);
  }
  auto lines = lines_of(pipe.drain());
  REQUIRE(lines.size() == 1);
  CHECK(lines[0].find("\"kept\"") != std::string::npos);
  CHECK(lines[0].find("\"nan\":null") != std::string::npos);
}

TEST_CASE("concurrent writers never interleave lines", "[log][concurrency]") {
  Pipe pipe;
  std::string out;
  std::thread reader([&] {
    char buf[65536];
    ssize_t n;
    while ((n = ::read(pipe.reader(), buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
  });
  {
    podgate::log::Logger logger(pipe.writer(), podgate::log::Level::Info);
    std::vector<std::thread> writers;
    for (int t = 0; t < 4; ++t)
      writers.emplace_back([&logger, t] {
        for (int i = 0; i < 500; ++i)
          logger.line(podgate::log::Level::Info, "line").integer("thread", t).str("pad", std::string(200, 'x'));
      });
    for (auto& w : writers) w.join();
  }
  pipe.close_writer();
  reader.join();
  auto lines = lines_of(out);
  REQUIRE(lines.size() == 2000);
  for (const auto& line : lines) {
    rapidjson::Document doc;
    doc.Parse(line.c_str());
    REQUIRE_FALSE(doc.HasParseError());
  }
}

TEST_CASE("parse_level accepts the four levels only", "[log]") {
  podgate::log::Level level{};
  CHECK(podgate::log::parse_level("debug", level));
  CHECK(level == podgate::log::Level::Debug);
  CHECK(podgate::log::parse_level("error", level));
  CHECK(level == podgate::log::Level::Error);
  CHECK_FALSE(podgate::log::parse_level("verbose", level));
  CHECK_FALSE(podgate::log::parse_level("", level));
}

TEST_CASE("bounded JSON strings cut escaped text on a UTF-8 boundary and mark the cut", "[log]") {
  using podgate::log::append_json_string;
  std::string out;
  append_json_string(out, "short", 16);
  CHECK(out == "\"short\"");
  out.clear();
  append_json_string(out, std::string(16, 'a'), 16);  // exactly the bound: kept whole
  CHECK(out == "\"" + std::string(16, 'a') + "\"");
  out.clear();
  append_json_string(out, std::string(100, 'a'), 16);
  CHECK(out == "\"" + std::string(13, 'a') + "\xE2\x80\xA6\"");
  // Escapes count at their escaped size: 10 control characters are 60 bytes once escaped.
  out.clear();
  append_json_string(out, std::string(10, '\x01'), 16);
  CHECK(out == "\"\\u0001\\u0001\xE2\x80\xA6\"");
  // "é" is two bytes: the cut moves back to the start of the character it would split.
  for (std::size_t max = 16; max < 24; ++max) {
    std::string text;
    for (int i = 0; i < 50; ++i) text += "\xC3\xA9";
    out.clear();
    append_json_string(out, text, max);
    CHECK(out.size() - 2 <= max);
    rapidjson::Document d;
    d.Parse<rapidjson::kParseValidateEncodingFlag>(("[" + out + "]").c_str());
    CHECK_FALSE(d.HasParseError());
  }
}
