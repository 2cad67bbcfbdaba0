// The list of rules. A rule lives in a file of its own and is listed here, once; the evaluator
// (policy.cpp) runs every rule on the list and knows none of them by name. See "How to add a
// rule" in docs/architecture.md.

#include <array>

#include "policy/rule_support.h"

namespace podgate::policy::detail {

// Each rule's checks, defined in its own file.
void check_privileged(const PodSpecInput& in, std::vector<Finding>& findings);       // privileged.cpp
void check_runtime_sockets(const PodSpecInput& in, std::vector<Finding>& findings);  // runtime_sockets.cpp
void check_persistent_volume(const RuleSet& rules, const admission::ObjectInfo& pv,
                             std::vector<Finding>& findings);                       // runtime_sockets.cpp
void check_images(const PodSpecInput& in, std::vector<Finding>& findings);          // images.cpp (+ scan_rule.cpp)
void check_pod_security(const PodSpecInput& in, std::vector<Finding>& findings);    // pod_security/pod_security.cpp

namespace {

// In the order their findings are reported: privileged, runtime sockets, images, then the Pod
// Security Standards.
constexpr std::array kRules{
    Rule{"privileged", check_privileged, nullptr},
    Rule{"runtimeSockets", check_runtime_sockets, check_persistent_volume},
    Rule{"images", check_images, nullptr},
    Rule{"podSecurity", check_pod_security, nullptr},
};

}  // namespace

std::span<const Rule> all_rules() { return kRules; }

}  // namespace podgate::policy::detail
