// A minimal validating admission webhook written the way a team would write one in Go: net/http,
// encoding/json and ListenAndServeTLS, standard library only. It is the peer podgate is measured
// against (bench/warm_path.sh), so it applies podgate's two default rules, privileged containers
// and hostPath volumes exposing container-runtime sockets, and nothing else.
//
// Minimal structs instead of k8s.io/api: encoding/json then skips every field the rules do not
// read, which makes this peer faster than one decoding full typed Pods, so the comparison
// flatters Go rather than podgate.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net/http"
	"path"
	"strings"
)

type admissionReview struct {
	APIVersion string             `json:"apiVersion"`
	Kind       string             `json:"kind"`
	Request    *admissionRequest  `json:"request,omitempty"`
	Response   *admissionResponse `json:"response,omitempty"`
}

type admissionRequest struct {
	UID  string `json:"uid"`
	Kind struct {
		Kind string `json:"kind"`
	} `json:"kind"`
	Name      string  `json:"name"`
	Namespace string  `json:"namespace"`
	Operation string  `json:"operation"`
	Object    *object `json:"object"`
}

type admissionResponse struct {
	UID     string  `json:"uid"`
	Allowed bool    `json:"allowed"`
	Status  *status `json:"status,omitempty"`
}

type status struct {
	Code    int    `json:"code"`
	Reason  string `json:"reason"`
	Message string `json:"message"`
}

// object is the union of every shape that carries a pod spec, decoded in one pass; podSpecOf picks
// the one the kind uses.
type object struct {
	Metadata struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"metadata"`
	Spec struct {
		podSpec                  // Pod
		Template    *podTemplate `json:"template"` // Deployment, ReplicaSet, StatefulSet, DaemonSet, Job, ReplicationController
		JobTemplate *struct {    // CronJob
			Spec struct {
				Template *podTemplate `json:"template"`
			} `json:"spec"`
		} `json:"jobTemplate"`
	} `json:"spec"`
	Template            *podTemplate `json:"template"`            // PodTemplate
	EphemeralContainers []container  `json:"ephemeralContainers"` // legacy kind EphemeralContainers (before 1.22)
}

type podTemplate struct {
	Spec podSpec `json:"spec"`
}

type podSpec struct {
	InitContainers      []container `json:"initContainers"`
	Containers          []container `json:"containers"`
	EphemeralContainers []container `json:"ephemeralContainers"`
	Volumes             []volume    `json:"volumes"`
}

type container struct {
	Name            string `json:"name"`
	SecurityContext *struct {
		Privileged *bool `json:"privileged"`
	} `json:"securityContext"`
}

type volume struct {
	Name     string `json:"name"`
	HostPath *struct {
		Path string `json:"path"`
	} `json:"hostPath"`
}

// podgate's default runtime paths (lib/config/values.cpp), with /var/run already mapped to /run.
var runtimePaths = []string{
	"/run/docker.sock", "/run/docker", "/run/containerd", "/run/crio", "/run/cri-dockerd.sock",
	"/run/podman", "/run/k3s/containerd", "/run/dockershim.sock", "/run/buildkit",
}

// podSpecOf returns the pod spec of a pod-bearing kind, its field path, and false for other kinds.
func podSpecOf(kind string, o *object) (*podSpec, string, bool) {
	switch kind {
	case "Pod":
		return &o.Spec.podSpec, "spec", true
	case "EphemeralContainers":
		if o.EphemeralContainers != nil {
			return &podSpec{EphemeralContainers: o.EphemeralContainers}, "", true
		}
		return &o.Spec.podSpec, "spec", true
	case "Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job", "ReplicationController":
		if o.Spec.Template == nil {
			return nil, "", false
		}
		return &o.Spec.Template.Spec, "spec.template.spec", true
	case "PodTemplate":
		if o.Template == nil {
			return nil, "", false
		}
		return &o.Template.Spec, "template.spec", true
	case "CronJob":
		if o.Spec.JobTemplate == nil || o.Spec.JobTemplate.Spec.Template == nil {
			return nil, "", false
		}
		return &o.Spec.JobTemplate.Spec.Template.Spec, "spec.jobTemplate.spec.template.spec", true
	}
	return nil, "", false
}

// normalizeHostPath cleans the path lexically (//, ., .., trailing /) and treats /var/run as /run,
// the symlink it is on current distributions.
func normalizeHostPath(p string) string {
	if !strings.HasPrefix(p, "/") {
		return ""
	}
	p = path.Clean(p)
	if p == "/var/run" || strings.HasPrefix(p, "/var/run/") {
		p = "/run" + p[len("/var/run"):]
	}
	return p
}

// covers reports whether ancestor is p or a parent directory of p, component-wise.
func covers(ancestor, p string) bool {
	if ancestor == "/" {
		return strings.HasPrefix(p, "/")
	}
	return p == ancestor || strings.HasPrefix(p, ancestor+"/")
}

// exposesRuntime is true for a hostPath at, above or inside a runtime path. "/var" counts as a
// parent: on older nodes the sockets live under a real /var/run.
func exposesRuntime(p string) bool {
	for _, r := range runtimePaths {
		if covers(p, r) || covers(r, p) || (covers(p, "/var/run") && covers("/run", r)) {
			return true
		}
	}
	return false
}

func violations(spec *podSpec, field string) []string {
	var out []string
	prefix := field
	if prefix != "" {
		prefix += "."
	}
	lists := []struct {
		name string
		cs   []container
	}{{"initContainers", spec.InitContainers}, {"containers", spec.Containers}, {"ephemeralContainers", spec.EphemeralContainers}}
	for _, l := range lists {
		for i, c := range l.cs {
			if c.SecurityContext != nil && c.SecurityContext.Privileged != nil && *c.SecurityContext.Privileged {
				out = append(out, fmt.Sprintf("container %q is privileged (%s%s[%d].securityContext.privileged=true)",
					c.Name, prefix, l.name, i))
			}
		}
	}
	for i, v := range spec.Volumes {
		if v.HostPath == nil {
			continue
		}
		if n := normalizeHostPath(v.HostPath.Path); n != "" && exposesRuntime(n) {
			out = append(out, fmt.Sprintf("volume %q mounts hostPath %q (normalised: %s) at %svolumes[%d].hostPath.path, exposing a container runtime socket",
				v.Name, v.HostPath.Path, n, prefix, i))
		}
	}
	return out
}

func review(req *admissionRequest) *admissionResponse {
	resp := &admissionResponse{UID: req.UID, Allowed: true}
	if req.Object == nil || (req.Operation != "CREATE" && req.Operation != "UPDATE") {
		return resp
	}
	spec, field, ok := podSpecOf(req.Kind.Kind, req.Object)
	if !ok {
		return resp
	}
	if v := violations(spec, field); len(v) > 0 {
		ns, name := req.Object.Metadata.Namespace, req.Object.Metadata.Name
		if ns == "" {
			ns = req.Namespace
		}
		if name == "" {
			name = req.Name
		}
		resp.Allowed = false
		resp.Status = &status{Code: http.StatusForbidden, Reason: "Forbidden",
			Message: fmt.Sprintf("denied %s %s/%s: %s", req.Kind.Kind, ns, name, strings.Join(v, "; "))}
		log.Printf("deny uid=%s %s", req.UID, resp.Status.Message)
	}
	return resp
}

func handleValidate(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	var in admissionReview
	// 3 MiB: the apiserver's own object-size limit, as podgate's default.
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 3<<20)).Decode(&in); err != nil {
		http.Error(w, "bad AdmissionReview: "+err.Error(), http.StatusBadRequest)
		return
	}
	if in.Request == nil {
		http.Error(w, "bad AdmissionReview: no request", http.StatusBadRequest)
		return
	}
	out := admissionReview{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview", Response: review(in.Request)}
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(&out); err != nil {
		log.Printf("write response: %v", err)
	}
}

func newMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/validate", handleValidate)
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok\n")) })
	return mux
}

func main() {
	listen := flag.String("listen", ":8443", "HTTPS listen address")
	cert := flag.String("tls-cert", "tls.crt", "TLS certificate (PEM)")
	key := flag.String("tls-key", "tls.key", "TLS private key (PEM)")
	flag.Parse()
	log.Fatal(http.ListenAndServeTLS(*listen, *cert, *key, newMux()))
}
