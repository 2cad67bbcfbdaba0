// Registry credentials: the dockerconfigjson / dockercfg shapes, "auth" decoding, the kubelet's key
// matching and ordering, and errors that never carry a secret.
//
// Cases marked "kubelet" are ported from kubernetes pkg/credentialprovider/keyring_test.go and
// config_test.go (the later base64 cases as they appear in cloud-provider-gcp's
// pkg/gcpcredential/registry_marshal_test.go, a copy of config_test.go's). Where podgate's answer
// differs from the kubelet's, the case says so.

#include <catch2/catch.hpp>

#include <string>
#include <string_view>
#include <vector>

#include "registry/credentials.h"
#include "support/temp_dir.h"

using podgate::registry::Credential;
using podgate::registry::CredentialsError;
using podgate::registry::Keyring;
using podgate::registry::kMaxCredentialsFileBytes;
using podgate::test::TempDir;

namespace {

// base64("foo:bar"), what the kubelet tests put in every "auth".
constexpr const char* kFooBar = "Zm9vOmJhcg==";

Keyring keyring_of(const std::string& json) {
  Keyring keyring;
  keyring.add_json(json, "test.json");
  return keyring;
}

// A keyring with one .dockercfg entry { "<key>": {"email": ..., "auth": base64("foo:bar")} }, the
// blob keyring_test.go builds for its glob tests.
Keyring keyring_with_key(const std::string& key) {
  return keyring_of(R"({")" + key + R"(": {"email": "foo@bar.baz", "auth": ")" + kFooBar + R"("}})");
}

// The kubelet looks up "host[:port]/path" strings; find() takes the two halves.
std::optional<Credential> lookup(const Keyring& keyring, std::string_view image) {
  const auto slash = image.find('/');
  return keyring.find(image.substr(0, slash), slash == std::string_view::npos ? "" : image.substr(slash + 1));
}

std::string username_for(const Keyring& keyring, std::string_view image) {
  const auto found = lookup(keyring, image);
  return found ? found->username : "<none>";
}

// The message add_json throws for `json` ("" when it does not throw). Anything other than a
// CredentialsError fails the test.
std::string error_of(const std::string& json, Keyring* into = nullptr) {
  Keyring local;
  Keyring& keyring = into ? *into : local;
  try {
    keyring.add_json(json, "secret.json");
  } catch (const CredentialsError& e) {
    const std::string message = e.what();
    CHECK(message.find('\n') == std::string::npos);
    CHECK(message.rfind("secret.json: ", 0) == 0);
    return message;
  } catch (const std::exception& e) {
    FAIL("add_json threw something other than CredentialsError: " << e.what());
  }
  return "";
}

}  // namespace

// ---- keyring_test.go ----

TEST_CASE("kubelet TestUrlsMatch: globs, paths and ports", "[credentials]") {
  struct Case {
    const char* glob;
    const char* target;
    bool match;
  };
  const Case cases[] = {
      // match when there is no path component
      {"*.kubernetes.io", "prefix.kubernetes.io", true},
      {"prefix.*.io", "prefix.kubernetes.io", true},
      {"prefix.kubernetes.*", "prefix.kubernetes.io", true},
      {"*-good.kubernetes.io", "prefix-good.kubernetes.io", true},
      // match with path components
      {"*.kubernetes.io/blah", "prefix.kubernetes.io/blah", true},
      {"prefix.*.io/foo", "prefix.kubernetes.io/foo/bar", true},
      // match with path components and ports
      {"*.kubernetes.io:1111/blah", "prefix.kubernetes.io:1111/blah", true},
      {"prefix.*.io:1111/foo", "prefix.kubernetes.io:1111/foo/bar", true},
      // no match when number of parts mismatch
      {"*.kubernetes.io", "kubernetes.io", false},
      {"*.*.kubernetes.io", "prefix.kubernetes.io", false},
      {"*.*.kubernetes.io", "kubernetes.io", false},
      // no match when some parts mismatch
      {"kubernetes.io", "kubernetes.com", false},
      {"k*.io", "quay.io", false},
      // no match when ports mismatch
      {"*.kubernetes.io:1234/blah", "prefix.kubernetes.io:1111/blah", false},
      {"prefix.*.io/foo", "prefix.kubernetes.io:1111/foo/bar", false},
  };
  for (const auto& c : cases) {
    INFO(c.glob << " vs " << c.target);
    CHECK(lookup(keyring_with_key(c.glob), c.target).has_value() == c.match);
  }
}

TEST_CASE("kubelet TestDockerKeyringForGlob: keys with schemes, globs, ports and /v1/ /v2/", "[credentials]") {
  struct Case {
    const char* glob;
    const char* target;
  };
  const Case cases[] = {
      {"https://hello.kubernetes.io", "hello.kubernetes.io"},
      {"https://*.docker.io", "prefix.docker.io"},
      {"https://prefix.*.io", "prefix.docker.io"},
      {"https://prefix.docker.*", "prefix.docker.io"},
      {"https://*.docker.io/path", "prefix.docker.io/path"},
      {"https://prefix.*.io/path", "prefix.docker.io/path/subpath"},
      {"https://prefix.docker.*/path", "prefix.docker.io/path"},
      {"https://*.docker.io:8888", "prefix.docker.io:8888"},
      {"https://prefix.*.io:8888", "prefix.docker.io:8888"},
      {"https://prefix.docker.*:8888", "prefix.docker.io:8888"},
      {"https://*.docker.io/path:1111", "prefix.docker.io/path:1111"},
      {"https://*.docker.io/v1/", "prefix.docker.io/path:1111"},
      {"https://*.docker.io/v2/", "prefix.docker.io/path:1111"},
      {"https://prefix.docker.*/path:1111", "prefix.docker.io/path:1111"},
      {"prefix.docker.io:1111", "prefix.docker.io:1111/path"},
      {"*.docker.io:1111", "prefix.docker.io:1111/path"},
  };
  for (const auto& c : cases) {
    INFO(c.glob << " vs " << c.target);
    const auto found = lookup(keyring_with_key(c.glob), std::string(c.target) + "/foo/bar");
    REQUIRE(found.has_value());
    CHECK(found->username == "foo");
    CHECK(found->password == "bar");
    CHECK(found->identityToken.empty());
  }
}

TEST_CASE("kubelet TestKeyringMiss", "[credentials]") {
  struct Case {
    const char* glob;
    const char* target;
  };
  const Case cases[] = {
      {"https://hello.kubernetes.io", "world.mesos.org/foo/bar"},
      {"https://*.docker.com", "prefix.docker.io"},
      {"https://suffix.*.io", "prefix.docker.io"},
      {"https://prefix.docker.c*", "prefix.docker.io"},
      {"https://prefix.*.io/path:1111", "prefix.docker.io/path/subpath:1111"},
      {"suffix.*.io", "prefix.docker.io"},
  };
  for (const auto& c : cases) {
    INFO(c.glob << " vs " << c.target);
    CHECK_FALSE(lookup(keyring_with_key(c.glob), std::string(c.target) + "/foo/bar").has_value());
  }
}

TEST_CASE("kubelet Docker Hub cases: the index.docker.io/v1/ key serves Docker Hub images only", "[credentials]") {
  const auto keyring = keyring_with_key("https://index.docker.io/v1/");
  // TestKeyringMissWithDockerHubCredentials
  CHECK_FALSE(keyring.find("world.mesos.org", "foo/bar").has_value());
  // TestKeyringHitWithUnqualifiedDockerHub: "google/docker-registry" is docker.io/google/...
  // once image::parse has normalised it, which is what find() is given.
  const auto unqualified = keyring.find("docker.io", "google/docker-registry");
  REQUIRE(unqualified.has_value());
  CHECK(*unqualified == Credential{"foo", "bar", ""});
  // TestKeyringHitWithUnqualifiedLibraryDockerHub: "jenkins" is docker.io/library/jenkins.
  CHECK(keyring.find("docker.io", "library/jenkins").has_value());
  // TestKeyringHitWithQualifiedDockerHub
  CHECK(keyring.find("index.docker.io", "google/docker-registry").has_value());
}

TEST_CASE("kubelet TestIsDefaultRegistryMatch, on parsed domains", "[credentials]") {
  const auto keyring = keyring_with_key("index.docker.io");
  CHECK(keyring.find("docker.io", "foo/bar").has_value());
  CHECK(keyring.find("index.docker.io", "foo/bar").has_value());
  CHECK_FALSE(keyring.find("", "foo/bar").has_value());
  CHECK_FALSE(keyring.find("registry.tld", "foo/bar").has_value());
  CHECK_FALSE(keyring.find("registry:5000", "foo/bar").has_value());
  CHECK_FALSE(keyring.find("myhostdocker.io", "foo/bar").has_value());
  // Differs: the kubelet counts a dotless first component ("localhost/foo") as Docker Hub because
  // it sees unparsed names; find() gets the parsed domain, and "localhost" is a registry.
  CHECK_FALSE(keyring.find("localhost", "foo/bar").has_value());
  CHECK_FALSE(keyring.find("docker.io:443", "foo/bar").has_value());
}

TEST_CASE("kubelet TestDockerKeyringLookup: the deeper key first", "[credentials]") {
  const auto keyring = keyring_of(R"({
    "bar.example.com/pong": {"username": "grace", "password": "squash", "email": "grace@example.com"},
    "bar.example.com": {"username": "ada", "password": "smash", "email": "ada@example.com"}
  })");
  REQUIRE(keyring.size() == 2);
  // direct match
  CHECK(lookup(keyring, "bar.example.com") == Credential{"ada", "smash", ""});
  // direct match deeper than other possible matches (the kubelet returns [grace, ada])
  CHECK(lookup(keyring, "bar.example.com/pong") == Credential{"grace", "squash", ""});
  // no direct match, deeper path ignored
  CHECK(username_for(keyring, "bar.example.com/ping") == "ada");
  // Differs: "match first part of path token" gives grace in the kubelet, whose path check is a
  // plain string prefix; podgate matches paths at '/' boundaries only.
  CHECK(username_for(keyring, "bar.example.com/pongz") == "ada");
  // match regardless of sub-path
  CHECK(username_for(keyring, "bar.example.com/pong/pang") == "grace");
  // no host match
  CHECK_FALSE(lookup(keyring, "example.com").has_value());
  CHECK_FALSE(lookup(keyring, "foo.example.com").has_value());
}

TEST_CASE("kubelet TestIssue3797: a key with scheme and /v1/ matches by host", "[credentials]") {
  const auto keyring = keyring_of(
      R"({"https://quay.io/v1/": {"username": "rex", "password": "tiny arms", "email": "rex@example.com"}})");
  for (const auto* image : {"quay.io", "quay.io/foo", "quay.io/foo/bar"}) {
    INFO(image);
    CHECK(lookup(keyring, image) == Credential{"rex", "tiny arms", ""});
  }
}

// ---- config_test.go ----

TEST_CASE("kubelet TestDockerConfigJsonJSONDecode and TestDockerConfigJSONDecode: both shapes", "[credentials]") {
  const std::string entries =
      R"({"http://foo.example.com":{"username": "foo", "password": "bar", "email": "foo@example.com"},)"
      R"( "http://bar.example.com":{"username": "bar", "password": "baz", "email": "bar@example.com"}})";
  for (const auto& json : {R"({"auths": )" + entries + "}", entries}) {
    INFO(json);
    const auto keyring = keyring_of(json);
    CHECK(keyring.size() == 2);
    CHECK(keyring.find("foo.example.com", "app") == Credential{"foo", "bar", ""});
    CHECK(keyring.find("bar.example.com", "app") == Credential{"bar", "baz", ""});
  }
}

TEST_CASE("kubelet TestDockerConfigEntryJSONDecode", "[credentials]") {
  const auto entry = [](const std::string& fields) {
    return keyring_of(R"({"auths": {"reg.example.com": )" + fields + "}}").find("reg.example.com", "app");
  };
  // simple case, just decode the fields
  CHECK(entry(R"({"username": "foo", "password": "bar", "email": "foo@example.com"})") == Credential{"foo", "bar", ""});
  // auth field decodes to username & password
  CHECK(entry(R"({"auth": "Zm9vOmJhcg==", "email": "foo@example.com"})") == Credential{"foo", "bar", ""});
  // auth field overrides username & password
  CHECK(entry(R"({"username": "foo", "password": "bar", "auth": "cGluZzpwb25n", "email": "foo@example.com"})") ==
        Credential{"ping", "pong", ""});
  // poorly-formatted auth causes failure
  CHECK(error_of(R"({"auths": {"reg.example.com": {"auth": "pants", "email": "foo@example.com"}}})") ==
        R"(secret.json: entry "reg.example.com": "auth" is not valid base64)");
  // invalid JSON causes failure
  CHECK(error_of(R"({"auths": {"reg.example.com": {"email": false}}})") ==
        R"(secret.json: entry "reg.example.com": "email" must be a string, got a boolean)");
}

TEST_CASE("kubelet TestDecodeDockerConfigFieldAuth", "[credentials]") {
  const auto decode = [](const std::string& auth) -> std::optional<Credential> {
    Keyring keyring;
    try {
      keyring.add_json(R"({"r.example.com": {"auth": ")" + auth + R"("}})", "t.json");
    } catch (const CredentialsError&) {
      return std::nullopt;
    }
    return keyring.find("r.example.com", "app");
  };
  const Credential foo_bar{"foo", "bar", ""};
  // auth field decodes to username & password
  CHECK(decode("Zm9vOmJhcg==") == foo_bar);
  // same as before but with field not well padded
  CHECK(decode("Zm9vOmJhcg") == foo_bar);
  // same as before but with new line characters (JSON-escaped here)
  CHECK(decode("Zm9vOm\\nJhcg==\\n") == foo_bar);
  // good base64 data, but no colon separating username & password
  CHECK_FALSE(decode("cGFudHM=").has_value());
  // only new line characters are ignored
  CHECK_FALSE(decode("Zm9vOmJhcg== ").has_value());
  // bad base64 data
  CHECK_FALSE(decode("pants").has_value());

  // Beyond the kubelet's table, the same decoder's edges:
  CHECK(decode("dXNlcjpwYTpzczo=") == Credential{"user", "pa:ss:", ""});  // split at the first ':'
  CHECK(decode("OnB3") == Credential{"", "pw", ""});                      // ":pw"
  CHECK(decode("Zm9vOmJhcg\\r\\n") == foo_bar);                           // '\r' skipped too
  CHECK(decode("Zm9vOmJhch") == foo_bar);                                 // trailing bits need not be 0
  CHECK_FALSE(decode("Zm9vOmJhcg=").has_value());                         // padded but length not 4n
  CHECK_FALSE(decode("Zm9vOmJh=cg=").has_value());                        // '=' inside
  CHECK_FALSE(decode("Zm9vO===").has_value());                            // three pads
  CHECK_FALSE(decode("Zm9vOmJhc").has_value());                           // 4n+1 characters
  CHECK_FALSE(decode("Zm9v-mJhcg").has_value());                          // URL alphabet
}

TEST_CASE("kubelet TestReadDockerConfigFile: a dockerconfigjson file, auth with a trailing newline", "[credentials]") {
  const TempDir dir("podgate-credentials-test");
  const auto path = dir.write(
      "config.json", R"({ "auths": { "http://foo.example.com":{"auth":"Zm9vOmJhcgo=","email":"foo@example.com"}}})");
  Keyring keyring;
  keyring.add_file(path);
  // "Zm9vOmJhcgo=" is "foo:bar\n": the newline belongs to the password.
  CHECK(keyring.find("foo.example.com", "x") == Credential{"foo", "bar\n", ""});
}

// ---- podgate's own rules ----

TEST_CASE("the longest matching key wins, whatever the order keys were added in", "[credentials]") {
  const std::vector<std::string> keys = {"ghcr.io", "ghcr.io/org", "ghcr.io/org/team", "*.io"};
  for (int rotation = 0; rotation < 4; ++rotation) {
    Keyring keyring;
    for (int i = 0; i < 4; ++i) {
      const auto& key = keys[(i + rotation) % 4];
      keyring.add_json(R"({")" + key + R"(": {"username": ")" + key + R"(", "password": "p"}})", "k.json");
    }
    INFO("rotation " << rotation);
    CHECK(username_for(keyring, "ghcr.io/org/team/app") == "ghcr.io/org/team");
    CHECK(username_for(keyring, "ghcr.io/org/other") == "ghcr.io/org");
    CHECK(username_for(keyring, "ghcr.io/orgs/app") == "ghcr.io");
    CHECK(username_for(keyring, "quay.io/org/app") == "*.io");
  }
}

TEST_CASE("at equal length an exact host beats a glob, and the first of identical keys wins", "[credentials]") {
  auto keyring = keyring_of(R"({"*.example.com": {"username": "glob", "password": "p"},
                                "a.example.com": {"username": "exact", "password": "p"}})");
  CHECK(username_for(keyring, "a.example.com/app") == "exact");
  CHECK(username_for(keyring, "b.example.com/app") == "glob");

  // Three spellings of one key, across two files: the first added is used.
  keyring = keyring_of(R"({"auths": {"https://index.docker.io/v1/": {"username": "first", "password": "p"},
                                     "index.docker.io/v2/": {"username": "second", "password": "p"}}})");
  keyring.add_json(R"({"index.docker.io": {"username": "third", "password": "p"}})", "later.json");
  CHECK(keyring.size() == 3);
  CHECK(username_for(keyring, "index.docker.io/library/nginx") == "first");
  CHECK(keyring.find("docker.io", "library/nginx")->username == "first");
}

TEST_CASE("Docker Hub falls back to index.docker.io only when no key matched", "[credentials]") {
  const auto keyring = keyring_of(R"({"auths": {
    "https://index.docker.io/v1/": {"username": "hub", "password": "p"},
    "docker.io/myorg": {"username": "myorg", "password": "p"}}})");
  CHECK(keyring.find("docker.io", "myorg/app")->username == "myorg");
  CHECK(keyring.find("docker.io", "library/nginx")->username == "hub");
  // A key on index.docker.io with a path is not the fallback key.
  const auto scoped = keyring_with_key("index.docker.io/someorg");
  CHECK_FALSE(scoped.find("docker.io", "library/nginx").has_value());
  CHECK(scoped.find("index.docker.io", "someorg/app").has_value());
}

TEST_CASE("paths match at '/' boundaries, and a trailing '/' in the key is no different", "[credentials]") {
  const auto keyring = keyring_with_key("quay.io/foo/");
  CHECK(lookup(keyring, "quay.io/foo").has_value());
  CHECK(lookup(keyring, "quay.io/foo/bar").has_value());
  CHECK_FALSE(lookup(keyring, "quay.io/foobar").has_value());
  CHECK_FALSE(lookup(keyring, "quay.io/fo").has_value());
  CHECK_FALSE(lookup(keyring, "quay.io").has_value());
  // Query, fragment and percent-escapes are read the way url.Parse reads them.
  CHECK(lookup(keyring_with_key("quay.io/f%6Fo?x=1#frag"), "quay.io/foo/bar").has_value());
}

TEST_CASE("ports must be equal, and IPv6 literals match as written", "[credentials]") {
  const auto with_port = keyring_with_key("localhost:5000");
  CHECK(with_port.find("localhost:5000", "a/b").has_value());
  CHECK_FALSE(with_port.find("localhost", "a/b").has_value());
  CHECK_FALSE(with_port.find("localhost:5001", "a/b").has_value());
  const auto without_port = keyring_with_key("http://localhost");
  CHECK_FALSE(without_port.find("localhost:5000", "a/b").has_value());
  CHECK(without_port.find("localhost", "a/b").has_value());

  const auto v6 = keyring_with_key("[::1]:5000");
  CHECK(v6.find("[::1]:5000", "a/b").has_value());
  CHECK_FALSE(v6.find("[::1]", "a/b").has_value());
  CHECK_FALSE(v6.find("[::2]:5000", "a/b").has_value());
}

TEST_CASE("hosts compare case-insensitively, and field names as Go's encoding/json reads them", "[credentials]") {
  const auto keyring = keyring_of(R"({"AUTHS": {"HTTPS://GHCR.io": {"Username": "u", "PASSWORD": "p",
                                                                       "IdentityToken": "t"}}})");
  CHECK(keyring.find("ghcr.io", "o/r") == Credential{"u", "p", "t"});
  CHECK(keyring.find("GHCR.IO", "o/r").has_value());
  // The last of repeated members wins, for fields and for registry keys alike.
  const auto repeated = keyring_of(R"({"r.example.com": {"username": "a", "password": "p"},
                                       "r.example.com": {"username": "b", "password": "p", "username": "c"}})");
  CHECK(repeated.size() == 1);
  CHECK(repeated.find("r.example.com", "x")->username == "c");
}

TEST_CASE("glob labels: character classes, and malformed globs never match", "[credentials]") {
  const auto classes = keyring_with_key("reg[0-9].example.com");
  CHECK(classes.find("reg1.example.com", "x").has_value());
  CHECK_FALSE(classes.find("rega.example.com", "x").has_value());
  CHECK_FALSE(classes.find("reg12.example.com", "x").has_value());
  const auto stars = keyring_with_key("*r*g*.example.com");
  CHECK(stars.find("registry.example.com", "x").has_value());
  CHECK(stars.find("rg.example.com", "x").has_value());
  CHECK_FALSE(stars.find("gr.example.com", "x").has_value());
  for (const auto* bad : {"reg[.example.com", "reg[]x.example.com", "reg[-a].example.com", "reg[a-].example.com"}) {
    INFO(bad);
    CHECK(keyring_with_key(bad).size() == 0);
  }
}

TEST_CASE("entries the kubelet ignores, and entries without credentials, are skipped", "[credentials]") {
  const auto keyring = keyring_of(R"({"auths": {
    "": {"username": "u", "password": "p"},
    "host:abc": {"username": "u", "password": "p"},
    "ho st.example.com": {"username": "u", "password": "p"},
    "quay.io/%zz": {"username": "u", "password": "p"},
    ":5000": {"username": "u", "password": "p"},
    "https:///path": {"username": "u", "password": "p"},
    "[a-c]reg.example.com": {"username": "u", "password": "p"},
    "ghcr.io/org": {},
    "ghcr.io/team": null,
    "ghcr.io/blank": {"username": "", "password": null, "email": "x@example.com"},
    "ghcr.io/token": {"identitytoken": "refresh-token"},
    "ghcr.io": {"username": "base", "password": "p"}}})");
  CHECK(keyring.size() == 2);
  // The empty ghcr.io/org entry does not shadow ghcr.io.
  CHECK(keyring.find("ghcr.io", "org/app")->username == "base");
  CHECK(keyring.find("ghcr.io", "token/app") == Credential{"", "", "refresh-token"});
  // config.json's other members are ignored next to "auths"; "auths": null is an empty file.
  CHECK(keyring_of(R"({"auths": {}, "credsStore": "desktop", "HttpHeaders": {"X": "y"}})").size() == 0);
  CHECK(keyring_of(R"({"auths": null})").size() == 0);
  CHECK(keyring_of("{}").size() == 0);
}

TEST_CASE("userinfo in a key is ignored for matching and redacted in errors", "[credentials]") {
  const auto keyring = keyring_with_key("https://user:hunter2@reg.example.com/v2/");
  CHECK(keyring.find("reg.example.com", "x").has_value());
  const auto message = error_of(R"({"https://user:hunter2@reg.example.com/v2/": {"password": 5}})");
  CHECK(message == R"(secret.json: entry "https://<redacted>@reg.example.com/v2/": "password" must be a string, got a number)");
}

TEST_CASE("errors name the source and the problem, never a secret, and add nothing", "[credentials]") {
  // base64("robot:s3cr3t-PASSWORD-value")
  const std::string auth = "cm9ib3Q6czNjcjN0LVBBU1NXT1JELXZhbHVl";
  Keyring keyring = keyring_with_key("before.example.com");
  const auto check = [&](const std::string& json, const std::string& expected) {
    INFO(json);
    const auto message = error_of(json, &keyring);
    CHECK(message == expected);
    CHECK(message.find("s3cr3t") == std::string::npos);
    CHECK(message.find("PASSWORD") == std::string::npos);
    CHECK(message.find(auth) == std::string::npos);
    CHECK(message.find("hunter") == std::string::npos);
    CHECK(keyring.size() == 1);  // a failed file adds nothing, even its good entries
  };
  check(R"({"auths": {"ok.example.com": {"auth": ")" + auth + R"("}, "bad.example.com": {"auth": "hunter2!"}}})",
        R"(secret.json: entry "bad.example.com": "auth" is not valid base64)");
  check(R"({"auths": {"a.example.com": {"auth": "aHVudGVyMg=="}}})",  // "hunter2": no ':'
        R"(secret.json: entry "a.example.com": "auth" does not decode to "username:password")");
  check(R"({"auths": {"a.example.com": {"password": "s3cr3t-PASSWORD", "auth": 12}}})",
        R"(secret.json: entry "a.example.com": "auth" must be a string, got a number)");
  check(R"({"auths": {"a.example.com": {"password": ["s3cr3t-PASSWORD"]}}})",
        R"(secret.json: entry "a.example.com": "password" must be a string, got an array)");
  check(R"({"auths": {"a.example.com": "s3cr3t-PASSWORD"}})",
        R"(secret.json: entry "a.example.com": expected an object, got a string)");
  check(R"({"credsStore": "s3cr3t-PASSWORD"})",
        R"(secret.json: entry "credsStore" (there is no "auths" member, so the file is read as .dockercfg): expected an object, got a string)");
  check(R"({"auths": ["s3cr3t-PASSWORD"]})", R"(secret.json: "auths" must be an object, got an array)");
  check(R"(["s3cr3t-PASSWORD"])", "secret.json: expected a JSON object, got an array");
  check(R"({"auths": {"a.example.com": {"password": "s3cr3t-PASSWORD" "auth": "x"}}})",
        "secret.json: not valid JSON: Missing a comma or '}' after an object member at offset 59");
  check(R"({"auths": {"a.example.com": {"password": "s3cr3t-PASSWORD"}}} trailing)",
        "secret.json: not valid JSON: The document root must not be followed by other values at offset 62");
  check(std::string(R"({"a.example.com": {"password": "s3cr3t-PASSWORD"}})") + '\0' + "x",
        "secret.json: not valid JSON: NUL byte at offset 50");
  check("{\"a.example.com\": {\"password\": \"s3cr3t-\xff\"}}",
        "secret.json: not valid JSON: Invalid encoding in string at offset 39");
  check("", "secret.json: not valid JSON: The document is empty at offset 0");
  // A long or odd key is shown escaped and cut short.
  const std::string long_key = "reg.example.com/\\u0001" + std::string(300, 'a');  // JSON-escaped U+0001
  const auto message = error_of(R"({")" + long_key + R"(": 1})");
  CHECK(message.find(R"(entry "reg.example.com/\x01aaaa)") != std::string::npos);
  CHECK(message.find(R"(aaa...")") != std::string::npos);
  CHECK(message.size() < 300);
}

TEST_CASE("deeply nested JSON is parsed without recursion", "[credentials]") {
  const std::size_t depth = 200000;
  const std::string nested = std::string(depth, '[') + std::string(depth, ']');
  // An unknown field may hold anything; the entry itself is still read.
  const auto keyring = keyring_of(R"({"r.example.com": {"username": "u", "password": "p", "x": )" + nested + "}}");
  CHECK(keyring.size() == 1);
  CHECK(error_of(std::string(depth, '[')).find("not valid JSON") != std::string::npos);
}

TEST_CASE("files: read, size-bounded, and errors that name the path", "[credentials]") {
  const TempDir dir("podgate-credentials-test");
  Keyring keyring;
  const std::string good = R"({"auths": {"ghcr.io": {"auth": "Zm9vOmJhcg=="}}})";

  SECTION("a good file") {
    keyring.add_file(dir.write("config.json", good));
    CHECK(keyring.find("ghcr.io", "o/r") == Credential{"foo", "bar", ""});
  }
  SECTION("exactly at the limit is read; one byte more is refused unparsed") {
    const std::string padded = good + std::string(kMaxCredentialsFileBytes - good.size(), ' ');
    keyring.add_file(dir.write("max.json", padded));
    CHECK(keyring.size() == 1);
    const auto big = dir.write("big.json", padded + " ");
    try {
      keyring.add_file(big);
      FAIL("no error");
    } catch (const CredentialsError& e) {
      CHECK(std::string(e.what()) == big + ": larger than 1048576 bytes");
    }
    CHECK_THROWS_AS(keyring.add_json(padded + " ", "s"), CredentialsError);
    CHECK(keyring.size() == 1);
  }
  SECTION("a missing file and a directory") {
    const auto missing = dir.file("nope.json");
    CHECK_THROWS_WITH(keyring.add_file(missing), missing + ": cannot open: No such file or directory");
    CHECK_THROWS_WITH(keyring.add_file(dir.path()), dir.path() + ": cannot read: Is a directory");
  }
  SECTION("a bad file names the path") {
    const auto bad = dir.write("bad.json", R"({"auths": {"ghcr.io": {"auth": "pants"}}})");
    CHECK_THROWS_WITH(keyring.add_file(bad), bad + R"(: entry "ghcr.io": "auth" is not valid base64)");
  }
}
