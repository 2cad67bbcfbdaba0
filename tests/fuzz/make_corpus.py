#!/usr/bin/env python3
"""Regenerates the fuzz seed corpora (tests/fuzz/corpus/<target>/) and dictionaries
(tests/fuzz/<target>.dict) from the repository's own fixtures, docs and unit-test vectors.

Run from anywhere: python3 tests/fuzz/make_corpus.py. It only adds or overwrites seeds; delete
tests/fuzz/corpus first for a clean set. scripts/fuzz.sh never writes here (it fuzzes a copy).
"""
import os, re, hashlib, glob
R = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..'))
C=R+'/tests/fuzz/corpus'
def put(target, data, name=None):
    d=f'{C}/{target}'; os.makedirs(d, exist_ok=True)
    if isinstance(data,str): data=data.encode()
    name = name or hashlib.sha1(data).hexdigest()[:16]
    open(f'{d}/{name}','wb').write(data)

def cpp_unescape(s):
    return bytes(s,'utf-8').decode('unicode_escape').encode('latin-1')

# 1. admission_review: the review fixtures
reviews = sorted(glob.glob(R+'/tests/fixtures/reviews/*.json'))
for f in reviews:
    if os.path.getsize(f) > 20000: continue  # the 200 KB benchmark bodies: too slow per run
    put('admission_review', open(f,'rb').read(), os.path.basename(f)[:-5])

# 2. image_reference: the first string of each vector in the unit test (ported upstream vectors)
src=open(R+'/tests/unit/image_reference_test.cpp').read()
seen=set()
for m in re.finditer(r'^\s*\{"((?:[^"\\]|\\.)*)"', src, re.M):
    s=cpp_unescape(m.group(1))
    if s in seen: continue
    seen.add(s); put('image_reference', s)
be='sha256:be178c0543eb17f5f3043021c9e5fcf30285e557a4fc309cce97ff9ca6182912'
for s in ['nginx', 'nginx:1.27@'+be, 'ghcr.io/o/r@'+be, 'localhost:5000/a/b:1', '[::1]:5000/x/y:tag@'+be,
          'registry.example.com:5000/team/app@sha512:'+'f'*128, 'docker.io/library/busybox:1.36']:
    put('image_reference', s)

# 3. host_path: the default socket paths and spellings the normaliser must see through
for s in ['/run/docker.sock','/run/docker','/run/containerd','/run/crio','/run/cri-dockerd.sock','/run/podman',
          '/run/k3s/containerd','/var/run/docker.sock','/var/run/cri-dockerd.sock','/run/dockershim.sock','/run/buildkit',
          '/var/run/../var/run/docker.sock','//run//containerd/./containerd.sock/','/var/run/..','/a/b/../../..',
          '/var/./run/crio/crio.sock','/var/x/../run/podman/podman.sock','relative/path','/','/data/app','/.']:
    put('host_path', s)

# 4. scan_report: the scan fixtures, and the JSON examples in docs/scan-verdicts.md
for f in sorted(glob.glob(R+'/tests/fixtures/scans/*.json')):
    put('scan_report', open(f,'rb').read(), os.path.basename(f)[:-5])
doc=open(R+'/docs/scan-verdicts.md').read()
for i,b in enumerate(re.findall(r'```json\n(.*?)```', doc, re.S)):
    put('scan_report', b, f'docs-scan-verdicts-{i}')

# 5. config: the examples, the docs' YAML, and the YAML texts of the unit test
for f in sorted(glob.glob(R+'/examples/*.yaml')):
    put('config', open(f,'rb').read(), 'example-'+os.path.basename(f)[:-5])
doc=open(R+'/docs/configuration.md').read()
for i,b in enumerate(re.findall(r'```yaml\n(.*?)```', doc, re.S)):
    put('config', b, f'docs-configuration-{i}')
src=open(R+'/tests/unit/config_test.cpp').read()
for b in re.findall(r'R"\((.*?)\)"', src, re.S):
    put('config', b)

# 6. http_request: requests as the apiserver and scanners send them
pod=open(R+'/tests/fixtures/reviews/pod-privileged.json','rb').read()
clean=open(R+'/tests/fixtures/reviews/pod-clean-4k.json','rb').read()
trivy=open(R+'/tests/fixtures/scans/trivy-archive.json','rb').read()
verdict=open(R+'/tests/fixtures/scans/verdict-clamav.json','rb').read()
def req(method, target, body=b'', headers=(), version='1.1', length=True):
    h=f'{method} {target} HTTP/{version}\r\nHost: podgate.podgate.svc:443\r\n'
    for k,v in headers: h+=f'{k}: {v}\r\n'
    if length and (body or method=='POST'): h+=f'Content-Length: {len(body)}\r\n'
    return h.encode()+b'\r\n'+body
def chunked(body, n=1000):
    out=b''
    for i in range(0,len(body),n):
        c=body[i:i+n]; out+=b'%x\r\n'%len(c)+c+b'\r\n'
    return out+b'0\r\n\r\n'
json_h=[('Content-Type','application/json'),('Accept','application/json, */*')]
put('http_request', req('POST','/validate?timeout=10s',clean,json_h), 'validate-clean')
put('http_request', req('POST','/validate?timeout=5s',pod,json_h), 'validate-privileged')
put('http_request', req('POST','/audit?timeout=1m30s',pod,json_h), 'audit-privileged')
put('http_request', req('POST','/validate',chunked(clean),json_h+[('Transfer-Encoding','chunked')],length=False), 'validate-chunked')
put('http_request', req('POST','/validate?timeout=2.5s',clean,json_h+[('Expect','100-continue')]), 'validate-expect')
put('http_request', req('GET','/healthz')+req('HEAD','/readyz')+req('GET','/metrics',headers=[('Connection','close')]), 'pipelined-health')
put('http_request', req('GET','/readyz',version='1.0'), 'readyz-http10')
put('http_request', req('PUT','/validate',b'{}'), 'validate-put')
auth=[('Authorization','Bearer fuzz-token')]
put('http_request', req('POST','/v1/scans',trivy,json_h+auth), 'scans-import-trivy')
put('http_request', req('POST','/v1/scans',verdict,json_h+auth)+req('GET','/v1/scans/'+be,headers=auth), 'scans-import-then-get')
put('http_request', req('POST','/v1/scans',trivy,json_h), 'scans-no-token')
put('http_request', req('DELETE','/v1/scans/'+be,headers=auth), 'scans-delete')

# 7. manifest: podgate's own manifests, the YAML texts of the unit test (merge keys, anchors,
#    lists), and hand-written merge-key and list shapes, including a small alias bomb.
for f in sorted(glob.glob(R+'/manifests/**/*.yaml', recursive=True)):
    if os.path.getsize(f) <= 20000: put('manifest', open(f,'rb').read(), 'example-'+os.path.basename(f)[:-5])
src=open(R+'/tests/unit/manifest_test.cpp').read()
for m in re.finditer(r'R"\((.*?)\)"', src, re.S):
    put('manifest', m.group(1))
put('manifest', 'kind: Pod\nspec:\n  containers:\n  - name: a\n    image: nginx\n    securityContext:\n      <<: {privileged: true}\n', 'merge-inline')
put('manifest', 'x: &sc {privileged: true}\nkind: Pod\nspec:\n  containers:\n  - name: a\n    securityContext: {<<: *sc}\n', 'merge-alias')
put('manifest', 'a: &a {x: 1}\nb: &b {<<: *a, y: 2}\nkind: Pod\nspec: {<<: [*b, *a, {z: 3}], x: 4}\n', 'merge-list-nested')
put('manifest', 'kind: Pod\nspec: {privileged: false, <<: {privileged: true}}\n', 'merge-before-explicit')
put('manifest', 'kind: Pod\nspec: {"<<": {privileged: true}, !!merge <<: {a: 1}}\n', 'merge-quoted-and-tagged')
put('manifest', 'kind: PodList\napiVersion: v1\nitems:\n- kind: Pod\n  metadata: {name: a}\n- kind: List\n  items: [{kind: Pod}]\n', 'list-nested')
put('manifest', 'kind: Pod\nmetadata: {name: decoy}\nitems:\n- kind: Pod\n  metadata: {name: hidden}\n', 'list-decoy')
put('manifest', 'kind: Pod\na: &a [x, x, x, x]\nb: &b [*a, *a, *a, *a]\nc: &c [*b, *b, *b, *b]\nd: [*c, *c, *c, *c]\n', 'alias-bomb-small')

# 8. imagescan: the golden apply bodies, and an object as the apiserver returns it (two scanners,
#    managedFields), from the unit test
for f in sorted(glob.glob(R+'/tests/fixtures/imagescan/*.json')):
    put('imagescan', open(f,'rb').read(), 'golden-'+os.path.basename(f)[:-5])
src=open(R+'/tests/unit/scan_imagescan_test.cpp').read()
m=re.search(r'const std::string object = R"\((.*?)\)";', src, re.S)
d9='sha256:9b2a5c0d4e6f8a1b3c5d7e9f0a2b4c6d8e0f1a3b5c7d9e1f2a4b6c8d0e2f4a6b'
put('imagescan', m.group(1).replace(')" + kName + R"(', d9.replace(':','-')).replace(')" + kDigest + R"(', d9), 'apiserver-two-scanners')

# 9. trivy_operator: the Trivy Operator fixtures
for f in sorted(glob.glob(R+'/tests/fixtures/trivy-operator/*.json')):
    put('trivy_operator', open(f,'rb').read(), os.path.basename(f)[:-5])

# 10. pod_projection: Pods as the apiserver lists them: the unit test's realistic Pod (managedFields,
#     env, the three imageID forms), with and without its ephemeral container, and small shapes
#     (an ended Pod, a socket mount, every volume type kept by its key, host ports, duplicate keys).
src=open(R+'/tests/unit/audit_pod_cache_test.cpp').read()
tmpl=re.search(r'const std::string kPodTemplate = R"\((.*?)\)";', src, re.S).group(1)
def digest(n): return 'sha256:'+hashlib.sha256(str(n).encode()).hexdigest()
def realistic(ephemeral, phase='Running'):
    t=tmpl
    t=t.replace('{{EPHEMERAL_SPEC}}', ', "ephemeralContainers": [{"name": "debugger", "image": "busybox:1.36", "targetContainerName": "app"}]' if ephemeral else '')
    t=t.replace('{{EPHEMERAL_STATUS}}', ', "ephemeralContainerStatuses": [{"name": "debugger", "image": "busybox:1.36", "imageID": "'+digest(3)+'"}]' if ephemeral else '')
    for k,v in {'NS':'shop','NAME':'web-7d9f8b6c5d-x2x9p','UID':'5f0c1a2e-1111-4c4c-8d8d-9e9e9e9e9e9e','PHASE':phase,'RESTARTS':'0',
                'IMG0':'registry.example.com/shop/migrate:1.4','IMG1':'nginx:1.27','IMG2':'ghcr.io/example/envoy:v1.31',
                'IMGID0':'registry.example.com/shop/migrate@'+digest(0),'IMGID1':'docker-pullable://nginx@'+digest(1),
                'IMGID2':'ghcr.io/example/envoy@'+digest(2)}.items():
        t=t.replace('{{'+k+'}}', v)
    return t
put('pod_projection', realistic(True), 'realistic-ephemeral')
put('pod_projection', realistic(False), 'realistic')
put('pod_projection', realistic(False, 'Succeeded'), 'realistic-succeeded')
put('pod_projection', '{"metadata":{"name":"p","namespace":"ns","uid":"u"},"spec":{"containers":[{"name":"a","image":"x",'
    '"volumeMounts":[{"name":"s","mountPath":"/s"}]}],"volumes":[{"name":"s","hostPath":{"path":"/var/run/docker.sock","type":"Socket"}}]},'
    '"status":{"phase":"Pending"}}', 'socket-mount')
put('pod_projection', '{"kind":"Pod","apiVersion":"v1","metadata":{"name":"p","annotations":{"seccomp.security.alpha.kubernetes.io/pod":"unconfined",'
    '"container.apparmor.security.beta.kubernetes.io/a":"unconfined"}},"spec":{"hostPID":true,"hostIPC":true,"hostNetwork":true,'
    '"hostUsers":false,"os":{"name":"windows"},"securityContext":{"windowsOptions":{"hostProcess":true},"sysctls":[{"name":"a","value":"1"}]},'
    '"containers":[{"name":"a","ports":[{"containerPort":53,"hostPort":53,"protocol":"UDP"}],'
    '"securityContext":{"privileged":true,"capabilities":{"add":["SYS_ADMIN"]}}}],'
    '"volumes":[{"name":"c","configMap":{"name":"x"}},{"name":"i","image":{"reference":"r/x:1"}},{"name":"e","emptyDir":{}}]}}', 'host-namespaces')
put('pod_projection', '{"metadata":{"name":"p"},"spec":{"containers":[{"name":"a","securityContext":{"privileged":false,"privileged":true}}]}}', 'duplicate-privileged')
put('pod_projection', '{"metadata":{"name":"p","ownerReferences":[{"apiVersion":"batch/v1","kind":"Job","name":"j","uid":"1","controller":true}]},'
    '"spec":{"serviceAccount":"legacy","imagePullSecrets":[null,{"name":"a"}],"initContainers":[{"name":"i"}]},'
    '"status":{"phase":"Running","initContainerStatuses":[{"name":"i","image":"x","imageID":"x@'+digest(4)+'@'+digest(5)+'"}]}}', 'owner-legacy-account')
# The Pod Security fields: the audit unit test's Pod that sets every one (pod_projection), and the
# same spec as a CREATE of a Deployment, whose template's metadata holds the annotations (admission_review).
sec=re.search(r'const std::string kSecurityPod = R"\((.*?)\)";', src, re.S).group(1)
put('pod_projection', sec, 'pod-security-fields')
secSpec=re.search(r'"spec":(\{"hostNetwork".*\}),\s*"status"', sec, re.S).group(1)
secMeta=re.search(r'"annotations":(\{.*?\})\}', sec, re.S).group(1)
put('admission_review', '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u",'
    '"kind":{"group":"apps","version":"v1","kind":"Deployment"},"resource":{"group":"apps","version":"v1","resource":"deployments"},'
    '"operation":"CREATE","object":{"metadata":{"name":"d"},"spec":{"template":{"metadata":{"annotations":'+secMeta+'},"spec":'+secSpec+'}}}}}',
    'deployment-pod-security-fields')

# A custom workload (workloads.custom in the fuzz target's config): an Argo Rollout's template.
put('admission_review', '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u",'
    '"kind":{"group":"argoproj.io","version":"v1alpha1","kind":"Rollout"},"resource":{"group":"argoproj.io","version":"v1alpha1","resource":"rollouts"},'
    '"operation":"UPDATE","object":{"metadata":{"name":"r"},"spec":{"template":{"metadata":{},"spec":{"containers":[{"name":"a","image":"x",'
    '"securityContext":{"privileged":true}}]}}}},"oldObject":{"metadata":{"name":"r"},"spec":{"replicas":1}}}}', 'rollout-privileged-update')

# Inputs that once failed (see the unit tests named after them), kept as regression seeds.
put('admission_review', b'"DaemonSetrequestxind\xf1', 'regress-truncated-utf8')
put('config', '{mode: audit},\n', 'regress-stray-token-after-flow')
put('pod_projection', '{"metadata":{"name":"p"},"spe[c":{"containers":[{"name":"a"}]}}', 'regress-no-spec')
put('manifest', '{kind: Pod}, c\n', 'regress-stray-token-after-flow')
put('manifest', 'kind: Pod\nspec: {securityContext: {runAsUser: 1e332, runAsGroup: 0e332}}\n', 'regress-number-past-double')
put('config', 'rules:\n  images:\n    action: deny\n    trustedRegistries: [MyRegistry, "Mirror/team/"]\n'
              '    blocked: ["MyRegistry/app:1.0", "docKer.io/app"]\n', 'regress-domain-case')

# Dictionaries: tokens the code compares against, taken from the sources so they stay current.
def lits(path):
    return set(re.findall(r'"([A-Za-z][A-Za-z0-9_.\-/]{1,40})"', open(R+path).read()))
def write_dict(name, tokens, extra=()):
    lines=[]
    for t in sorted(set(tokens)|set(extra)):
        esc=''.join('\\\\' if c=='\\' else '\\"' if c=='"' else c if 32<=ord(c)<127 else '\\x%02x'%ord(c) for c in t)
        lines.append('"'+esc+'"')
    open(f'{R}/tests/fuzz/{name}.dict','w').write('\n'.join(lines)+'\n')
json_tokens=['{','}','[',']',':',',','true','false','null','"','\\u0000','\\"','1e308','-0']
write_dict('admission_review', set().union(*(lits(f[len(R):]) for f in sorted(glob.glob(R+'/lib/admission/*.cpp')))) | {'spec','template','jobTemplate','securityContext','hostPath','/var/run/docker.sock','/run/containerd',
  'Rollout','rollouts','argoproj.io','Deep','deeps','example.com','unknown','/proc/1/root','/proc/self/root/run/docker.sock','/run/user/1000/docker.sock'}, json_tokens)
write_dict('scan_report', set().union(*(lits(f[len(R):]) for f in sorted(glob.glob(R+'/lib/scan/report*.cpp')))) | {be,'sha256:','CRITICAL','HIGH','2026-11-28T10:00:00Z'}, json_tokens)
write_dict('imagescan', lits('/lib/scan/imagescan.cpp') | {d9, d9.replace(':','-'), 'podgate.io/v1alpha1', 'ImageScan',
  'scans', 'findings', 'findingsOmitted', 'counts', 'critical', 'high', 'CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'UNKNOWN',
  'NEGLIGIBLE', '2025-11-20T09:14:02Z', 'resourceVersion', 'managedFields'}, json_tokens)
write_dict('trivy_operator', lits('/lib/scan/trivy_operator.cpp') | {d9, 'aquasecurity.github.io/v1alpha1', 'report',
  'artifact', 'digest', 'repository', 'registry', 'server', 'index.docker.io', 'library/nginx', 'summary', 'vulnerabilities',
  'vulnerabilityID', 'resource', 'installedVersion', 'fixedVersion', 'severity', 'CRITICAL', 'HIGH', 'updateTimestamp',
  '2025-11-20T09:14:02Z', 'scanner', 'version'}, json_tokens)
write_dict('pod_projection', {'apiVersion','kind','Pod','metadata','name','namespace','uid','creationTimestamp',
  '2026-11-20T09:14:02Z','annotations','container.apparmor.security.beta.kubernetes.io/','seccomp.security.alpha.kubernetes.io/pod',
  'ownerReferences','controller','spec','containers','initContainers','ephemeralContainers','targetContainerName','image',
  'securityContext','privileged','windowsOptions','hostProcess','volumeMounts','mountPath','ports','hostPort','containerPort',
  'protocol','volumes','hostPath','path','type','reference','configMap','emptyDir','serviceAccountName','serviceAccount',
  'shareProcessNamespace','hostNetwork','hostPID','hostIPC','hostUsers','os','imagePullSecrets','status','phase','Running',
  'Succeeded','Failed','Pending','containerStatuses','initContainerStatuses','ephemeralContainerStatuses','imageID','@',
  'docker-pullable://', digest(1), digest(1)[7:], 'container.seccomp.security.alpha.kubernetes.io/','capabilities','add','drop',
  'allowPrivilegeEscalation','procMount','seccompProfile','appArmorProfile','seLinuxOptions','user','role','runAsNonRoot',
  'runAsUser','sysctls','livenessProbe','readinessProbe','startupProbe','lifecycle','postStart','preStop','httpGet',
  'tcpSocket','host','nfs'}, json_tokens)
yaml_tokens=[': ','- ','---','...','{','}','[',']','#','&a','*a','!!str','|','>','~','null','true','false','"','\'','0x10','1e3','10s','500ms','1Mi','64KiB']
write_dict('config', set().union(*(lits(f[len(R):]) for f in sorted(glob.glob(R+'/lib/config/*.cpp')) + [R+'/lib/util/duration.cpp'])), yaml_tokens)
write_dict('manifest', {'apiVersion','kind','metadata','name','generateName','namespace','items','List','PodList',
  'Pod','Deployment','spec','containers','securityContext','privileged','hostPath'}, yaml_tokens + ['<<','<<: ','!!merge','&b','*b','[*a, *b]'])
write_dict('image_reference', ['docker.io','index.docker.io','library/','localhost','@','sha256:','sha512:',':','/','[',']','latest',be[7:]], [])
write_dict('host_path', ['/','//','/.','/..','/var','/run','/var/run','docker.sock','containerd','/proc','/proc/1/root',
  '/proc/self/cwd','/run/user','/run/user/1000/docker.sock','/run/k0s','/var/snap/microk8s/common/run','*'], [])
write_dict('http_request', ['POST','GET','HEAD','PUT','HTTP/1.1','HTTP/1.0','\r\n','Content-Length: ','Transfer-Encoding: chunked',
  'Connection: close','Connection: keep-alive','Expect: 100-continue','Authorization: Bearer fuzz-token','/validate','/audit',
  '/healthz','/readyz','/v1/scans','/v1/scans/sha256:','?timeout=','ms','s','m','h'], [])

# 10. cosign_signature and sigstore_bundle: cosign's formats, signed with the fuzz targets' fixed
# Ed25519 key (seed 00..1f, tests/fuzz/trust_fixed_key.h) so the seeds reach the verified path.
import base64, json
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives import serialization
fuzz_key = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
fuzz_der = fuzz_key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
fuzz_hint = base64.b64encode(hashlib.sha256(fuzz_der).digest()).decode()
fd = 'sha256:' + 'a'*64
def simple_payload(digest, key='docker-manifest-digest'):
    return ('{"critical":{"identity":{"docker-reference":"127.0.0.1:5000/test/img"},"image":{"%s":"%s"},'
            '"type":"cosign container image signature"},"optional":null}' % (key, digest))
put('cosign_signature', simple_payload(fd), 'payload')
put('cosign_signature', simple_payload(fd, 'Docker-manifest-digest'), 'payload-capital')
put('cosign_signature', simple_payload('sha256:'+'b'*64), 'payload-other-digest')
put('cosign_signature', '{"critical":{"type":"atomic container signature"},"optional":{"a":"b"}}', 'payload-not-cosign')
p = simple_payload(fd).encode()
sig_manifest = {'schemaVersion': 2, 'mediaType': 'application/vnd.oci.image.manifest.v1+json',
    'config': {'mediaType': 'application/vnd.oci.image.config.v1+json', 'size': 2, 'digest': 'sha256:'+hashlib.sha256(b'{}').hexdigest()},
    'layers': [{'mediaType': 'application/vnd.dev.cosign.simplesigning.v1+json', 'size': len(p),
                'digest': 'sha256:'+hashlib.sha256(p).hexdigest(),
                'annotations': {'dev.cosignproject.cosign/signature': base64.b64encode(fuzz_key.sign(p)).decode()}},
               {'mediaType': 'application/vnd.oci.image.layer.v1.tar', 'size': 1, 'digest': fd}]}
put('cosign_signature', json.dumps(sig_manifest, separators=(',', ':')), 'sig-manifest')

def statement(hexd, predicate='https://sigstore.dev/cosign/sign/v1', t='https://in-toto.io/Statement/v1'):
    return json.dumps({'_type': t, 'subject': [{'name': '127.0.0.1:5000/test/img', 'digest': {'sha256': hexd}}],
                       'predicateType': predicate, 'predicate': {}}, separators=(',', ':')).encode()
def pae(t, body): return b'DSSEv1 %d %s %d %s' % (len(t), t.encode(), len(body), body)
def bundle(stmt, material=None):
    sig = fuzz_key.sign(pae('application/vnd.in-toto+json', stmt))
    return json.dumps({'mediaType': 'application/vnd.dev.sigstore.bundle.v0.3+json',
        'verificationMaterial': material or {'publicKey': {'hint': fuzz_hint}, 'tlogEntries': []},
        'dsseEnvelope': {'payload': base64.b64encode(stmt).decode(), 'payloadType': 'application/vnd.in-toto+json',
                         'signatures': [{'sig': base64.b64encode(sig).decode(), 'keyid': ''}]}}, separators=(',', ':'))
put('sigstore_bundle', bundle(statement('a'*64)), 'bundle')
put('sigstore_bundle', bundle(statement('a'*64, t='https://in-toto.io/Statement/v0.1')), 'bundle-statement-v01')
put('sigstore_bundle', bundle(statement('b'*64)), 'bundle-other-subject')
put('sigstore_bundle', bundle(statement('a'*64, predicate='https://slsa.dev/provenance/v1')), 'bundle-attestation')
put('sigstore_bundle', bundle(statement('a'*64), {'certificate': {'rawBytes': 'MIIB'}, 'tlogEntries': []}), 'bundle-keyless')
put('sigstore_bundle', '{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{"publicKey":{"hint":"x"}},'
    '"messageSignature":{"messageDigest":{"algorithm":"SHA2_256","digest":"AA=="},"signature":"AA=="}}', 'bundle-message-signature')
put('sigstore_bundle', json.dumps({'schemaVersion': 2, 'mediaType': 'application/vnd.oci.image.index.v1+json', 'manifests': [
    {'mediaType': 'application/vnd.oci.image.manifest.v1+json', 'artifactType': 'application/vnd.dev.sigstore.bundle.v0.3+json',
     'digest': 'sha256:'+'c'*64, 'size': 1000, 'annotations': {'dev.sigstore.bundle.content': 'dsse-envelope',
     'dev.sigstore.bundle.predicateType': 'https://sigstore.dev/cosign/sign/v1'}}]}, separators=(',', ':')), 'referrers-index')
put('sigstore_bundle', json.dumps({'schemaVersion': 2, 'mediaType': 'application/vnd.oci.image.manifest.v1+json',
    'artifactType': 'application/vnd.dev.sigstore.bundle.v0.3+json',
    'config': {'mediaType': 'application/vnd.oci.empty.v1+json', 'digest': 'sha256:'+hashlib.sha256(b'{}').hexdigest(), 'size': 2},
    'layers': [{'mediaType': 'application/vnd.dev.sigstore.bundle.v0.3+json', 'digest': 'sha256:'+'d'*64, 'size': 3000}],
    'subject': {'mediaType': 'application/vnd.oci.image.manifest.v1+json', 'digest': fd, 'size': 500},
    'annotations': {'dev.sigstore.bundle.content': 'dsse-envelope',
                    'dev.sigstore.bundle.predicateType': 'https://sigstore.dev/cosign/sign/v1'}}, separators=(',', ':')), 'referrer-manifest')
trust_tokens = lits('/lib/trust/cosign.cpp') | {fd, 'a'*64, 'sha256:', 'critical', 'image', 'type', 'docker-manifest-digest',
    'Docker-manifest-digest', 'cosign container image signature', 'application/vnd.dev.cosign.simplesigning.v1+json',
    'dev.cosignproject.cosign/signature', 'application/vnd.dev.sigstore.bundle.v0.3+json', 'dev.sigstore.bundle.predicateType',
    'https://sigstore.dev/cosign/sign/v1', 'layers', 'manifests', 'subject', 'annotations', 'mediaType', 'artifactType',
    'digest', 'size', 'optional', 'identity', 'docker-reference'}
write_dict('cosign_signature', trust_tokens, json_tokens)
write_dict('sigstore_bundle', trust_tokens | {'dsseEnvelope', 'payload', 'payloadType', 'signatures', 'sig', 'keyid',
    'verificationMaterial', 'publicKey', 'hint', fuzz_hint, 'certificate', 'x509CertificateChain', 'messageSignature',
    'application/vnd.in-toto+json', '_type', 'predicateType', 'https://in-toto.io/Statement/v1', 'sha256'}, json_tokens)
# ... and what the real cosign wrote (tests/fixtures/cosign/).
for name in ('legacy-sig-manifest', 'legacy-payload'):
    put('cosign_signature', open(f'{R}/tests/fixtures/cosign/{name}.json', 'rb').read(), 'cosign-' + name)
for name in ('bundle', 'bundle-referrers-index', 'bundle-referrer-manifest'):
    put('sigstore_bundle', open(f'{R}/tests/fixtures/cosign/{name}.json', 'rb').read(), 'cosign-' + name)
