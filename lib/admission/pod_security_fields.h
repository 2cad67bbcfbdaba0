#pragma once
// Internal to lib/admission: reading what the Pod Security Standards judge (admission.h's
// ContainerSecurity, PodSecurity, Volume::sources), with the decoder's conventions (decode_util.h).

#include "admission/admission.h"
#include "admission/decode_util.h"

namespace podgate::admission::detail {

// A container's securityContext (null: absent): privileged, windowsOptions.hostProcess, and the
// standards' fields into c.security.
bool read_container_security_context(const Value* sc, const Path& path, Container& c, Failure& failure);

// ports[].hostPort, the non-zero ones.
bool read_host_ports(const Value* ports, const Path& path, ContainerSecurity& out, Failure& failure);

// The host of httpGet / tcpSocket in the liveness, readiness and startup probes and in
// lifecycle.postStart / preStop, in that order; `container` is the container's path.
struct ProbeMembers {
  const Value* livenessProbe = nullptr;
  const Value* readinessProbe = nullptr;
  const Value* startupProbe = nullptr;
  const Value* lifecycle = nullptr;
};
bool read_probe_hosts(const ProbeMembers& members, const Path& container, ContainerSecurity& out, Failure& failure);

// The pod's securityContext (null: absent): windowsOptions.hostProcess into spec.hostProcess, and
// the standards' fields into spec.security.
bool read_pod_security_context(const Value* sc, const Path& path, PodSpec& spec, Failure& failure);

// spec.os (null: absent): its name.
bool read_os(const Value* os, const Path& path, PodSecurity& out, Failure& failure);

// The pod's metadata (null: absent): its annotations.
bool read_pod_annotations(const Value* metadata, const Path& path, PodSecurity& out, Failure& failure);

// Every member of the volume but "name" (its sources), each of which must be an object or null.
bool read_volume_sources(const Value& volume, const Path& path, Volume& out, Failure& failure);

}  // namespace podgate::admission::detail
