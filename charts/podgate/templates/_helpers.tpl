{{/*
The chart name, overridable.
*/}}
{{- define "podgate.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The full name prefix of every resource. Kubernetes names are limited to 63 characters (DNS labels).
*/}}
{{- define "podgate.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Chart name and version, for the helm.sh/chart label.
*/}}
{{- define "podgate.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Labels on every resource.
*/}}
{{- define "podgate.labels" -}}
helm.sh/chart: {{ include "podgate.chart" . }}
{{ include "podgate.selectorLabels" . }}
{{- if .Chart.AppVersion }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: podgate
{{- end }}

{{/*
Labels that select the pods; they must never change between upgrades (selectors are immutable).
*/}}
{{- define "podgate.selectorLabels" -}}
app.kubernetes.io/name: {{ include "podgate.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "podgate.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "podgate.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "podgate.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}
{{- end }}

{{/*
The port of a "HOST:PORT", "[v6]:PORT" or ":PORT" listen address: the container ports and probes
follow podgate's own config, so the two cannot disagree.
*/}}
{{- define "podgate.portOf" -}}
{{- $port := splitList ":" (toString .) | last | atoi }}
{{- if or (lt $port 1) (gt $port 65535) }}
{{- fail (printf "podgate: listen address %q needs a port from 1 to 65535" (toString .)) }}
{{- end }}
{{- $port }}
{{- end }}

{{- define "podgate.webhookPort" -}}
{{- include "podgate.portOf" (dig "server" "listen" "0.0.0.0:8443" .Values.config) }}
{{- end }}

{{- define "podgate.metricsPort" -}}
{{- include "podgate.portOf" (dig "server" "metricsListen" "0.0.0.0:9090" .Values.config) }}
{{- end }}

{{/*
The mode podgate runs in: auditOnly wins over config.mode.
*/}}
{{- define "podgate.mode" -}}
{{- if .Values.auditOnly }}audit{{ else }}{{ .Values.config.mode | default "enforce" }}{{ end }}
{{- end }}

{{/*
podgate.yaml as mounted into the pods: the `config` values, with the release namespace exempt,
auditOnly applied, and the scan cache's files where the chart mounts them.
*/}}
{{- define "podgate.config" -}}
{{- $config := deepCopy (.Values.config | default dict) }}
{{- $_ := set $config "mode" (include "podgate.mode" .) }}
{{- $exemptions := $config.exemptions | default dict }}
{{- $namespaces := $exemptions.namespaces | default list }}
{{- $_ := set $exemptions "namespaces" (append $namespaces .Release.Namespace | uniq) }}
{{- $_ := set $config "exemptions" $exemptions }}
{{- $scans := $config.scans | default dict }}
{{- $store := include "podgate.scanStore" . }}
{{- $_ := set $scans "store" $store }}
{{- if eq $store "sqlite" }}
{{- $_ := set $scans "database" (include "podgate.scanDatabase" .) }}
{{- else }}
{{- /* No SQLite file with the kubernetes store, so no volume to name. */}}
{{- $_ := unset $scans "database" }}
{{- end }}
{{- $_ := set $scans "apiTokenFile" (include "podgate.scanTokenFile" .) }}
{{- $_ := set $config "scans" $scans }}
{{- $rules := $config.rules | default dict }}
{{- $images := $rules.images | default dict }}
{{- $resolve := $images.resolve | default dict }}
{{- $_ := set $resolve "pullSecrets" (include "podgate.pullSecrets" . | eq "true") }}
{{- $_ := set $images "resolve" $resolve }}
{{- $_ := set $rules "images" $images }}
{{- $_ := set $config "rules" $rules }}
{{- /* podgate refuses an empty lease name, and would otherwise take its namespace from the Pod: both are named here, so the Lease is where the chart's Role grants it. */}}
{{- $audit := $config.audit | default dict }}
{{- $lease := $audit.lease | default dict }}
{{- $_ := set $lease "namespace" (include "podgate.auditLeaseNamespace" .) }}
{{- $_ := set $lease "name" (include "podgate.auditLeaseName" .) }}
{{- $_ := set $audit "lease" $lease }}
{{- $_ := set $config "audit" $audit }}
{{- toYaml $config }}
{{- end }}

{{/*
Where podgate keeps scans (config.scans.store): as set, or when empty `kubernetes` with more than one
replica (ImageScan objects every replica shares) and `sqlite` with one (a file in the pod).
*/}}
{{- define "podgate.scanStore" -}}
{{- $store := toString (dig "scans" "store" "" (.Values.config | default dict)) }}
{{- if $store }}{{ $store }}{{ else if gt (int .Values.replicaCount) 1 }}kubernetes{{ else }}sqlite{{ end }}
{{- end }}

{{/*
"true" when podgate reads Trivy Operator's VulnerabilityReports; empty otherwise.
*/}}
{{- define "podgate.trivyOperator" -}}
{{- if dig "scans" "sources" "trivyOperator" false (.Values.config | default dict) }}true{{ end }}
{{- end }}

{{/*
"true" when podgate reads Pods' image pull Secrets from the cluster (rbac.pullSecrets, or
config.rules.images.resolve.pullSecrets with RBAC made elsewhere); "false" otherwise.
*/}}
{{- define "podgate.pullSecrets" -}}
{{- if or .Values.rbac.pullSecrets (dig "rules" "images" "resolve" "pullSecrets" false (.Values.config | default dict)) }}true{{ else }}false{{ end }}
{{- end }}

{{/*
"true" when the continuous audit is on (config.audit.enabled); empty otherwise.
*/}}
{{- define "podgate.auditEnabled" -}}
{{- if dig "audit" "enabled" false (.Values.config | default dict) }}true{{ end }}
{{- end }}

{{/*
Where the audit writes its reports (config.audit.reports; podgate's default when unset).
*/}}
{{- define "podgate.auditReports" -}}
{{- dig "audit" "reports" "wgpolicyk8s.io/v1alpha2" (.Values.config | default dict) | toString }}
{{- end }}

{{/*
"true" when the audit records Events (config.audit.events, true when unset); empty otherwise.
*/}}
{{- define "podgate.auditEvents" -}}
{{- if dig "audit" "events" true (.Values.config | default dict) }}true{{ end }}
{{- end }}

{{/*
The audit Lease's namespace: config.audit.lease.namespace, or the release namespace.
*/}}
{{- define "podgate.auditLeaseNamespace" -}}
{{- dig "audit" "lease" "namespace" "" (.Values.config | default dict) | default .Release.Namespace }}
{{- end }}

{{/*
The audit Lease's name: config.audit.lease.name, or <fullname>-audit (a DNS label: at most 63).
*/}}
{{- define "podgate.auditLeaseName" -}}
{{- dig "audit" "lease" "name" "" (.Values.config | default dict) | default (printf "%s-audit" (include "podgate.fullname" .) | trunc 63 | trimSuffix "-") }}
{{- end }}

{{/*
"true" when podgate honours PSA's namespace labels (config.rules.podSecurity.namespaceLabels), which it
list-watches Namespaces for; empty otherwise.
*/}}
{{- define "podgate.podSecurityNamespaceLabels" -}}
{{- if dig "rules" "podSecurity" "namespaceLabels" false (.Values.config | default dict) }}true{{ end }}
{{- end }}

{{/*
"true" when podgate calls the Kubernetes API (so it needs its ServiceAccount token); empty otherwise.
*/}}
{{- define "podgate.usesKubernetesAPI" -}}
{{- if or (eq (include "podgate.scanStore" .) "kubernetes") (include "podgate.trivyOperator" .) (eq (include "podgate.pullSecrets" .) "true") (include "podgate.auditEnabled" .) (include "podgate.podSecurityNamespaceLabels" .) }}true{{ end }}
{{- end }}

{{/*
The ClusterRole's rules: only what the configuration uses, as a JSON list (empty: no RBAC objects).
*/}}
{{- define "podgate.rbacRules" -}}
{{- $rules := list }}
{{- if eq (include "podgate.scanStore" .) "kubernetes" }}
{{- $rules = append $rules (dict "apiGroups" (list "podgate.io") "resources" (list "imagescans") "verbs" (list "get" "list" "watch" "create" "update" "patch" "delete")) }}
{{- end }}
{{- if include "podgate.trivyOperator" . }}
{{- $rules = append $rules (dict "apiGroups" (list "aquasecurity.github.io") "resources" (list "vulnerabilityreports" "clustervulnerabilityreports") "verbs" (list "get" "list" "watch")) }}
{{- end }}
{{- if .Values.rbac.pullSecrets }}
{{- $rules = append $rules (dict "apiGroups" (list "") "resources" (list "secrets" "serviceaccounts") "verbs" (list "get")) }}
{{- end }}
{{- if include "podgate.podSecurityNamespaceLabels" . }}
{{- /* The Pod Security Standards' namespace labels: every Namespace list-watched (only its pod-security.kubernetes.io labels are kept). */}}
{{- $rules = append $rules (dict "apiGroups" (list "") "resources" (list "namespaces") "verbs" (list "get" "list" "watch")) }}
{{- end }}
{{- if include "podgate.auditEnabled" . }}
{{- /* The audit: every Pod list-watched; ReplicaSets and Jobs read to name the owning Deployment or CronJob. */}}
{{- $rules = append $rules (dict "apiGroups" (list "") "resources" (list "pods") "verbs" (list "list" "watch")) }}
{{- $rules = append $rules (dict "apiGroups" (list "apps") "resources" (list "replicasets") "verbs" (list "get")) }}
{{- $rules = append $rules (dict "apiGroups" (list "batch") "resources" (list "jobs") "verbs" (list "get")) }}
{{- $reports := include "podgate.auditReports" . }}
{{- $reportVerbs := list "get" "list" "create" "patch" "update" "delete" }}
{{- if eq $reports "wgpolicyk8s.io/v1alpha2" }}
{{- $rules = append $rules (dict "apiGroups" (list "wgpolicyk8s.io") "resources" (list "policyreports") "verbs" $reportVerbs) }}
{{- else if eq $reports "openreports.io/v1alpha1" }}
{{- $rules = append $rules (dict "apiGroups" (list "openreports.io") "resources" (list "reports") "verbs" $reportVerbs) }}
{{- end }}
{{- if include "podgate.auditEvents" . }}
{{- $rules = append $rules (dict "apiGroups" (list "events.k8s.io" "") "resources" (list "events") "verbs" (list "create" "patch")) }}
{{- end }}
{{- end }}
{{- toJson $rules }}
{{- end }}

{{/*
The Role's rules in the audit Lease's namespace, as a JSON list (empty: no Role). get and update are
narrowed to the one Lease; create cannot be (the name is not known to RBAC before the object exists).
*/}}
{{- define "podgate.leaseRules" -}}
{{- $rules := list }}
{{- if include "podgate.auditEnabled" . }}
{{- $rules = append $rules (dict "apiGroups" (list "coordination.k8s.io") "resources" (list "leases") "resourceNames" (list (include "podgate.auditLeaseName" .)) "verbs" (list "get" "update")) }}
{{- $rules = append $rules (dict "apiGroups" (list "coordination.k8s.io") "resources" (list "leases") "verbs" (list "create")) }}
{{- end }}
{{- toJson $rules }}
{{- end }}

{{/*
Where the scan cache volume is mounted, without a trailing slash.
*/}}
{{- define "podgate.scanCacheDir" -}}
{{- .Values.scanCache.mountPath | trimSuffix "/" }}
{{- end }}

{{/*
The scan cache's database: config.scans.database, or scans.db on the scan cache volume.
*/}}
{{- define "podgate.scanDatabase" -}}
{{- dig "scans" "database" "" (.Values.config | default dict) | default (printf "%s/scans.db" (include "podgate.scanCacheDir" .)) }}
{{- end }}

{{/*
"true" when a scan import token is configured (the chart's Secret or an existing one); empty otherwise.
*/}}
{{- define "podgate.scanImportEnabled" -}}
{{- if or .Values.scanImport.token .Values.scanImport.existingSecret }}true{{ end }}
{{- end }}

{{/*
scans.apiTokenFile: the key `token` of the scanImport Secret, mounted by the Deployment. Empty (the
API off) without a token.
*/}}
{{- define "podgate.scanTokenFile" -}}
{{- if include "podgate.scanImportEnabled" . }}/etc/podgate/scan-import/token{{ end }}
{{- end }}

{{/*
The scan rule's action ("off" unless config sets it).
*/}}
{{- define "podgate.scanRule" -}}
{{- toString (dig "rules" "images" "scan" "action" "off" (.Values.config | default dict)) }}
{{- end }}

{{/*
Namespaces the webhooks never match: podgate must not gate its own namespace, or its pods could not
be recreated while it is down.
*/}}
{{- define "podgate.excludedNamespaces" -}}
{{- append (.Values.webhook.excludeNamespaces | default list) .Release.Namespace | uniq | toJson }}
{{- end }}

{{/*
The Secret holding the serving certificate, whichever way it is made.
*/}}
{{- define "podgate.tlsSecretName" -}}
{{- if .Values.certManager.enabled }}
{{- printf "%s-serving-cert" (include "podgate.fullname" .) }}
{{- else if .Values.tls.existingSecret }}
{{- .Values.tls.existingSecret }}
{{- else }}
{{- printf "%s-tls" (include "podgate.fullname" .) }}
{{- end }}
{{- end }}

{{- define "podgate.serviceDNSNames" -}}
{{- $svc := include "podgate.fullname" . }}
{{- list (printf "%s.%s.svc" $svc .Release.Namespace) (printf "%s.%s.svc.cluster.local" $svc .Release.Namespace) | toJson }}
{{- end }}

{{- define "podgate.scanImportSecretName" -}}
{{- .Values.scanImport.existingSecret | default (printf "%s-scan-import" (include "podgate.fullname" .)) }}
{{- end }}

{{/*
The scanner CronJob's pods carry their own app.kubernetes.io/name, so podgate's Service, its
PodDisruptionBudget and its anti-affinity, which select on podgate.selectorLabels, never pick them.
*/}}
{{- define "podgate.scannerSelectorLabels" -}}
app.kubernetes.io/name: {{ printf "%s-scanner" (include "podgate.name" .) | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: scanner
{{- end }}

{{- define "podgate.scannerLabels" -}}
helm.sh/chart: {{ include "podgate.chart" . }}
{{ include "podgate.scannerSelectorLabels" . }}
{{- if .Chart.AppVersion }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: podgate
{{- end }}

{{/*
An image reference from {repository, tag, digest}: the digest wins when set.
*/}}
{{- define "podgate.imageRef" -}}
{{- if .digest }}{{ printf "%s@%s" .repository .digest }}{{ else }}{{ printf "%s:%s" .repository (toString .tag) }}{{ end }}
{{- end }}

{{/*
podgate's Service as the scanner reaches it: the name its serving certificate is issued for.
*/}}
{{- define "podgate.serviceURL" -}}
{{- printf "https://%s.%s.svc:%d" (include "podgate.fullname" .) .Release.Namespace (int .Values.service.port) }}
{{- end }}

{{/*
Where registry files are mounted (values: registryCredentials, registryCAs). Credentials and CAs have
their own subtrees, so one Secret may serve as both without two mounts on one path.
*/}}
{{- define "podgate.registryCredentialsDir" -}}
{{- printf "/etc/podgate/registries/credentials/%s" .secretName }}
{{- end }}

{{- define "podgate.registryCADir" -}}
{{- printf "/etc/podgate/registries/ca/%s" (.configMapName | default .secretName) }}
{{- end }}

{{/*
Every registry file the chart mounts, as a JSON list of paths.
*/}}
{{- define "podgate.registryFiles" -}}
{{- $files := list }}
{{- range .Values.registryCredentials }}
{{- $files = append $files (printf "%s/.dockerconfigjson" (include "podgate.registryCredentialsDir" .)) }}
{{- end }}
{{- range .Values.registryCAs }}
{{- $files = append $files (printf "%s/%s" (include "podgate.registryCADir" .) (.key | default "ca.crt")) }}
{{- end }}
{{- toJson $files }}
{{- end }}

{{/*
PromQL label matchers selecting this release's podgate series.
*/}}
{{- define "podgate.promSelector" -}}
{{- .Values.metrics.prometheusRule.selector | default (printf "job=%q,namespace=%q" (include "podgate.fullname" .) .Release.Namespace) }}
{{- end }}

{{/*
Refuse combinations that would render a broken install.
*/}}
{{- define "podgate.validate" -}}
{{- if and .Values.certManager.enabled .Values.tls.existingSecret }}
{{- fail "podgate: set either certManager.enabled or tls.existingSecret, not both" }}
{{- end }}
{{- if and .Values.tls.existingSecret (not .Values.tls.caBundle) }}
{{- fail "podgate: tls.existingSecret needs tls.caBundle (base64 PEM of the CA that signed it), or the apiserver cannot trust podgate" }}
{{- end }}
{{- if and .Values.scanImport.token .Values.scanImport.existingSecret }}
{{- fail "podgate: set either scanImport.token or scanImport.existingSecret, not both" }}
{{- end }}
{{- if and .Values.scanner.enabled (not (dig "audit" "enabled" false (.Values.config | default dict))) }}
{{- fail "podgate: scanner.enabled needs config.audit.enabled: the wanted list it scans comes from the audit's Pod cache (GET /v1/scans/wanted answers 404 without it)" }}
{{- end }}
{{- if and .Values.scanner.enabled (not (include "podgate.scanImportEnabled" .)) }}
{{- fail "podgate: scanner.enabled needs the scan API, which the scanner reads the wanted list from and posts reports to: set scanImport.token or scanImport.existingSecret" }}
{{- end }}
{{- range $name := list "image" "clientImage" }}
{{- $image := get $.Values.scanner $name }}
{{- if and $.Values.scanner.enabled (not $image.tag) (not $image.digest) }}
{{- fail (printf "podgate: scanner.%s needs a tag or a digest" $name) }}
{{- end }}
{{- end }}
{{- $config := .Values.config | default dict }}
{{- $tokenFile := dig "scans" "apiTokenFile" "" $config | toString }}
{{- if and $tokenFile (ne $tokenFile (include "podgate.scanTokenFile" .)) }}
{{- fail (printf "podgate: config.scans.apiTokenFile is set by the chart (%s); set scanImport.token or scanImport.existingSecret instead of %s" (include "podgate.scanTokenFile" . | default "\"\": the API off") $tokenFile) }}
{{- end }}
{{- if and (include "podgate.pinDigests" .) (eq (dig "rules" "images" "action" "off" $config | toString) "off") }}
{{- fail "podgate: config.rules.images.pinDigests needs config.rules.images.action deny or warn: it pins the digest the image rules resolve" }}
{{- end }}
{{- $resolve := dig "rules" "images" "resolve" dict $config }}
{{- if and (hasKey $resolve "pullSecrets") (ne (toString $resolve.pullSecrets) (toString .Values.rbac.pullSecrets)) }}
{{- if .Values.rbac.pullSecrets }}
{{- fail "podgate: config.rules.images.resolve.pullSecrets is false but rbac.pullSecrets grants get on every Secret; leave config.rules.images.resolve.pullSecrets out (rbac.pullSecrets sets it)" }}
{{- else if .Values.rbac.create }}
{{- fail "podgate: config.rules.images.resolve.pullSecrets needs rbac.pullSecrets=true (get on secrets and serviceaccounts); set that instead" }}
{{- end }}
{{- end }}
{{- if eq (include "podgate.scanStore" .) "sqlite" }}
{{- /* The root filesystem is read-only: the database and SQLite's -wal and -shm files beside it must be on the scan cache volume. */}}
{{- $database := include "podgate.scanDatabase" . }}
{{- $cacheDir := include "podgate.scanCacheDir" . }}
{{- if not (hasPrefix (printf "%s/" $cacheDir) $database) }}
{{- fail (printf "podgate: config.scans.database %s is not on the scan cache volume (scanCache.mountPath %s); leave it empty for %s/scans.db" $database .Values.scanCache.mountPath $cacheDir) }}
{{- end }}
{{- if and (not .Values.scanCache.existingClaim) (ne (dir $database) $cacheDir) }}
{{- fail (printf "podgate: config.scans.database %s is in a subdirectory of the scan cache's emptyDir, which does not exist (podgate creates no directories); put it directly in %s" $database $cacheDir) }}
{{- end }}
{{- else if dig "scans" "database" "" $config }}
{{- fail "podgate: config.scans.database is the sqlite store's file; the kubernetes store (config.scans.store, or replicaCount > 1 with it empty) has none: leave it empty" }}
{{- end }}
{{- if and (ne (include "podgate.scanRule" .) "off") (eq (toString (dig "rules" "images" "action" "off" $config)) "off") }}
{{- fail "podgate: config.rules.images.scan.action needs config.rules.images.action deny or warn: the scan rule judges the digests the image rules resolve (podgate refuses this config)" }}
{{- end }}
{{- $dirs := list }}
{{- range .Values.registryCredentials }}
{{- $dirs = append $dirs (include "podgate.registryCredentialsDir" .) }}
{{- end }}
{{- range .Values.registryCAs }}
{{- $dirs = append $dirs (include "podgate.registryCADir" .) }}
{{- end }}
{{- $seen := dict }}
{{- range $dirs }}
{{- if hasKey $seen . }}
{{- fail (printf "podgate: two registryCredentials or registryCAs entries would be mounted at %s; list each Secret or ConfigMap once (in registryCAs a ConfigMap and a Secret cannot share a name)" .) }}
{{- end }}
{{- $_ := set $seen . true }}
{{- end }}
{{- /* A file named under the chart's mount point but not mounted would only fail when podgate starts. */}}
{{- $mounted := include "podgate.registryFiles" . | fromJsonArray }}
{{- range $i, $registry := ((.Values.config | default dict).registries | default list) }}
{{- range $field := list "caFile" "credentialsFile" }}
{{- $file := toString (get $registry $field) }}
{{- if and (hasPrefix "/etc/podgate/registries/" $file) (not (has $file $mounted)) }}
{{- fail (printf "podgate: config.registries[%d].%s is %s, which the chart does not mount (mounted: %s); add it to %s" $i $field $file (join ", " $mounted | default "none") (ternary "registryCAs" "registryCredentials" (eq $field "caFile"))) }}
{{- end }}
{{- end }}
{{- end }}
{{- if and .Values.priorityResourceQuota.enabled .Values.priorityClassName (ge (int .Values.replicaCount) (int .Values.priorityResourceQuota.pods)) }}
{{- fail (printf "podgate: priorityResourceQuota.pods (%d) leaves no room for a rollout of %d replicas (the quota refuses the surge pod); raise it above replicaCount" (int .Values.priorityResourceQuota.pods) (int .Values.replicaCount)) }}
{{- end }}
{{- /* The apiserver refuses a webhook whose matchConditions share a name; say so before anything is applied. */}}
{{- $conditionNames := dict }}
{{- range .Values.webhook.matchConditions }}
{{- if hasKey $conditionNames .name }}
{{- fail (printf "podgate: webhook.matchConditions names %q twice; each condition needs its own name" .name) }}
{{- end }}
{{- $_ := set $conditionNames .name true }}
{{- end }}
{{- end }}

{{/*
The enforce webhook's failurePolicy: an audit-only install must not block the cluster when podgate
is down.
*/}}
{{- /* The pod-bearing resources both the validating and the mutating webhook receive. */ -}}
{{- define "podgate.podSpecRules" -}}
- apiGroups: [""]
  apiVersions: ["*"]
  operations: ["CREATE", "UPDATE"]
  resources: ["pods", "pods/ephemeralcontainers", "replicationcontrollers", "podtemplates"]
  scope: Namespaced
- apiGroups: ["apps"]
  apiVersions: ["*"]
  operations: ["CREATE", "UPDATE"]
  resources: ["deployments", "replicasets", "statefulsets", "daemonsets"]
  scope: Namespaced
- apiGroups: ["batch"]
  apiVersions: ["*"]
  operations: ["CREATE", "UPDATE"]
  resources: ["jobs", "cronjobs"]
  scope: Namespaced
{{- /* config.workloads.custom: each custom resource with a pod template, routed by its plural
(podgate's default, lowercase kind + "s", when resource is not set) and versions (default "*"). */}}
{{- range $w := dig "workloads" "custom" list (.Values.config | default dict) }}
- apiGroups: [{{ $w.group | toJson }}]
  apiVersions: {{ $w.versions | default (list "*") | toJson }}
  operations: ["CREATE", "UPDATE"]
  resources: [{{ $w.resource | default (printf "%ss" (lower $w.kind)) | toJson }}]
  scope: Namespaced
{{- end }}
{{- end }}

{{- /* "true" when config.rules.images.pinDigests is on: the MutatingWebhookConfiguration is rendered. */ -}}
{{- define "podgate.pinDigests" -}}
{{- if dig "rules" "images" "pinDigests" false (.Values.config | default dict) }}true{{ end }}
{{- end }}

{{- define "podgate.enforceFailurePolicy" -}}
{{- if .Values.auditOnly }}Ignore{{ else }}{{ .Values.webhook.enforce.failurePolicy }}{{ end }}
{{- end }}
