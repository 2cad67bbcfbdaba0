// Anchors the test support library so it builds even before any helper file is added.
namespace podgate::test {
const char* support_library_name() { return "podgate_test_support"; }
}  // namespace podgate::test
