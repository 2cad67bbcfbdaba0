#pragma once
// A minimal valid admission.k8s.io/v1 AdmissionReview for a Pod, header-only so unit tests (which
// link only podgate_test_common, not the support library) can use it too.

#include <string>
#include <vector>

namespace podgate::test {

// A Pod review with uid `uid`; `privileged` makes the single container privileged (denied under
// the default config). `padToBytes` grows the body with annotations to about that size (the
// 4 KB review of the benchmark).
inline std::string pod_review(const std::string& uid, bool privileged = false, std::size_t padToBytes = 0) {
  auto build = [&](const std::string& annotations) {
    return std::string(
               "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{\"uid\":\"") +
           uid +
           "\",\"kind\":{\"group\":\"\",\"version\":\"v1\",\"kind\":\"Pod\"},"
           "\"resource\":{\"group\":\"\",\"version\":\"v1\",\"resource\":\"pods\"},"
           "\"requestKind\":{\"group\":\"\",\"version\":\"v1\",\"kind\":\"Pod\"},"
           "\"name\":\"web\",\"namespace\":\"default\",\"operation\":\"CREATE\","
           "\"userInfo\":{\"username\":\"alice\",\"groups\":[\"system:authenticated\"]},"
           "\"object\":{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"web\",\"namespace\":\"default\","
           "\"annotations\":{" +
           annotations +
           "}},\"spec\":{\"containers\":[{\"name\":\"app\",\"image\":\"nginx:1.25\"" +
           (privileged ? ",\"securityContext\":{\"privileged\":true}" : "") +
           "}]}},\"oldObject\":null,\"dryRun\":false}}";
  };
  const std::size_t base = build("").size();
  std::string annotations;
  for (int i = 0; base + annotations.size() < padToBytes; ++i) {
    if (!annotations.empty()) annotations += ',';
    annotations += "\"example.com/note-" + std::to_string(i) + "\":\"" + std::string(48, 'x') + "\"";
  }
  return build(annotations);
}

// A Pod CREATE review whose containers ("c0", "c1", ...) run `images`, in namespace `ns`.
inline std::string pod_review_with_images(const std::string& uid, const std::vector<std::string>& images,
                                          const std::string& ns = "default") {
  std::string containers;
  for (std::size_t i = 0; i < images.size(); ++i) {
    if (i) containers += ',';
    containers += "{\"name\":\"c" + std::to_string(i) + "\",\"image\":\"" + images[i] + "\"}";
  }
  return "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{\"uid\":\"" + uid +
         "\",\"kind\":{\"group\":\"\",\"version\":\"v1\",\"kind\":\"Pod\"},"
         "\"resource\":{\"group\":\"\",\"version\":\"v1\",\"resource\":\"pods\"},"
         "\"name\":\"web\",\"namespace\":\"" + ns + "\",\"operation\":\"CREATE\","
         "\"userInfo\":{\"username\":\"alice\"},"
         "\"object\":{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"web\",\"namespace\":\"" + ns +
         "\"},\"spec\":{\"containers\":[" + containers + "]}},\"oldObject\":null,\"dryRun\":false}}";
}

}  // namespace podgate::test
