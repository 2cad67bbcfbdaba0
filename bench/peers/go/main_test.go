package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestNormalizeHostPath(t *testing.T) {
	cases := map[string]string{
		"/var/run//docker.sock":    "/run/docker.sock",
		"/var/./run/docker.sock/":  "/run/docker.sock",
		"/../../run/containerd/x":  "/run/containerd/x",
		"/var/run":                 "/run",
		"/var/runner":              "/var/runner",
		"relative/docker.sock":     "",
		"/srv/data/../docker.sock": "/srv/docker.sock",
	}
	for in, want := range cases {
		if got := normalizeHostPath(in); got != want {
			t.Errorf("normalizeHostPath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestExposesRuntime(t *testing.T) {
	for p, want := range map[string]bool{
		"/": true, "/var": true, "/run": true, "/run/docker.sock": true, "/run/containerd/containerd.sock": true,
		"/run/crio": true, "/var/lib/docker": false, "/data": false, "/run/secrets": false, "/varx": false,
	} {
		if got := exposesRuntime(p); got != want {
			t.Errorf("exposesRuntime(%q) = %v, want %v", p, got, want)
		}
	}
}

// The shared fixtures must get the same decision from this peer as from podgate's defaults.
func TestFixtures(t *testing.T) {
	allowed := map[string]bool{
		"pod-clean-4k.json": true, "deployment-clean-30k.json": true, "pod-clean-200k.json": true, "pod-delete.json": true,
		"pod-privileged.json": false, "deployment-docker-sock.json": false, "cronjob-v1beta1-privileged.json": false,
		"ephemeral-privileged-update.json": false, "legacy-ephemeralcontainers-privileged.json": false,
		"daemonset-privileged-run.json": false,
	}
	dir := filepath.Join("..", "..", "..", "tests", "fixtures", "reviews")
	srv := httptest.NewServer(newMux())
	defer srv.Close()
	for name, want := range allowed {
		body, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		var in admissionReview
		if err := json.Unmarshal(body, &in); err != nil {
			t.Fatal(name, err)
		}
		resp, err := http.Post(srv.URL+"/validate", "application/json", strings.NewReader(string(body)))
		if err != nil {
			t.Fatal(err)
		}
		var out admissionReview
		err = json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK || out.Response == nil {
			t.Fatalf("%s: status %d, decode error %v", name, resp.StatusCode, err)
		}
		if out.APIVersion != "admission.k8s.io/v1" || out.Kind != "AdmissionReview" || out.Response.UID != in.Request.UID {
			t.Errorf("%s: envelope %q %q uid %q, want uid %q", name, out.APIVersion, out.Kind, out.Response.UID, in.Request.UID)
		}
		if out.Response.Allowed != want {
			t.Errorf("%s: allowed=%v, want %v", name, out.Response.Allowed, want)
		}
		if !want && (out.Response.Status == nil || out.Response.Status.Code != 403 || out.Response.Status.Message == "") {
			t.Errorf("%s: denial without a 403 status and message: %+v", name, out.Response.Status)
		}
	}
}

func TestRejectsBadInput(t *testing.T) {
	srv := httptest.NewServer(newMux())
	defer srv.Close()
	for _, body := range []string{"{", `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}`} {
		resp, err := http.Post(srv.URL+"/validate", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%q: status %d, want 400", body, resp.StatusCode)
		}
	}
}
