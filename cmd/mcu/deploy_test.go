package main

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/yaml"
)

const deployDir = "../../deploy/kubernetes"

// manifests are the Kubernetes objects of deploy/kubernetes, by kind.
type manifests struct {
	configMaps   map[string]*corev1.ConfigMap
	services     map[string]*corev1.Service
	statefulSets map[string]*appsv1.StatefulSet
	pdbs         []*policyv1.PodDisruptionBudget
}

// loadManifests reads the kustomization's resources and decodes every
// manifest strictly (an unknown or misspelt field fails) into its API type.
// The kustomization may only list resources: anything kustomize would
// transform (patches, generators) would make this reading wrong.
func loadManifests(t *testing.T) *manifests {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(deployDir, "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var k struct {
		APIVersion string   `json:"apiVersion"`
		Kind       string   `json:"kind"`
		Resources  []string `json:"resources"`
	}
	if err := yaml.UnmarshalStrict(raw, &k); err != nil {
		t.Fatalf("kustomization.yaml: %v (only plain resources are read here)", err)
	}
	m := &manifests{configMaps: map[string]*corev1.ConfigMap{}, services: map[string]*corev1.Service{}, statefulSets: map[string]*appsv1.StatefulSet{}}
	for _, res := range k.Resources {
		raw, err := os.ReadFile(filepath.Join(deployDir, res))
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(raw), -1) {
			if strings.TrimSpace(doc) == "" {
				continue
			}
			if err := m.add([]byte(doc)); err != nil {
				t.Fatalf("%s, document %d: %v", res, i+1, err)
			}
		}
	}
	return m
}

func (m *manifests) add(doc []byte) error {
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal(doc, &tm); err != nil {
		return err
	}
	switch tm.APIVersion + " " + tm.Kind {
	case "v1 ConfigMap":
		return decodeInto(doc, &corev1.ConfigMap{}, m.configMaps)
	case "v1 Service":
		return decodeInto(doc, &corev1.Service{}, m.services)
	case "apps/v1 StatefulSet":
		return decodeInto(doc, &appsv1.StatefulSet{}, m.statefulSets)
	case "policy/v1 PodDisruptionBudget":
		pdbs := map[string]*policyv1.PodDisruptionBudget{}
		err := decodeInto(doc, &policyv1.PodDisruptionBudget{}, pdbs)
		for _, p := range pdbs {
			m.pdbs = append(m.pdbs, p)
		}
		return err
	}
	return fmt.Errorf("a %s %s: not a kind this test knows", tm.APIVersion, tm.Kind)
}

// decodeInto decodes doc strictly into obj and files it by its name.
func decodeInto[T interface{ GetName() string }](doc []byte, obj T, byName map[string]T) error {
	if err := yaml.UnmarshalStrict(doc, obj); err != nil {
		return err
	}
	if obj.GetName() == "" {
		return errors.New("no name")
	}
	byName[obj.GetName()] = obj
	return nil
}

// selects reports whether sel selects pods labelled lbls.
func selects(t *testing.T, sel *metav1.LabelSelector, lbls map[string]string) bool {
	t.Helper()
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		t.Fatal(err)
	}
	return !s.Empty() && s.Matches(labels.Set(lbls))
}

// containerPort finds a container's port by name.
func containerPort(c corev1.Container, name string) (corev1.ContainerPort, bool) {
	for _, p := range c.Ports {
		if p.Name == name {
			return p, true
		}
	}
	return corev1.ContainerPort{}, false
}

// TestKubernetesManifests renders deploy/kubernetes and checks our rules:
// every StatefulSet behind a headless Service and a PodDisruptionBudget,
// probes on named ports, resource requests, the MCU's environment a valid
// configuration whose node id, public URL and NATS URLs name the
// StatefulSets' pods, and a grace period that covers the drain.
func TestKubernetesManifests(t *testing.T) {
	m := loadManifests(t)
	for name, ss := range m.statefulSets {
		pod := ss.Spec.Template
		if !selects(t, ss.Spec.Selector, pod.Labels) {
			t.Errorf("statefulset %s: its selector misses its pods", name)
		}
		svc, ok := m.services[ss.Spec.ServiceName]
		if !ok || svc.Spec.ClusterIP != corev1.ClusterIPNone || !selects(t, &metav1.LabelSelector{MatchLabels: svc.Spec.Selector}, pod.Labels) {
			t.Errorf("statefulset %s: service %q is not a headless service of its pods", name, ss.Spec.ServiceName)
		}
		covered := false
		for _, pdb := range m.pdbs {
			covered = covered || selects(t, pdb.Spec.Selector, pod.Labels)
		}
		if !covered {
			t.Errorf("statefulset %s: no PodDisruptionBudget", name)
		}
		for _, c := range pod.Spec.Containers {
			for what, probe := range map[string]*corev1.Probe{"readiness": c.ReadinessProbe, "liveness": c.LivenessProbe} {
				if probe == nil || probe.HTTPGet == nil {
					t.Errorf("%s/%s: no HTTP %s probe", name, c.Name, what)
					continue
				}
				if _, ok := containerPort(c, probe.HTTPGet.Port.String()); !ok {
					t.Errorf("%s/%s: %s probe on port %q, which the container does not name", name, c.Name, what, probe.HTTPGet.Port.String())
				}
			}
			if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() {
				t.Errorf("%s/%s: no CPU and memory requests", name, c.Name)
			}
		}
	}
	for _, svc := range m.services {
		for _, p := range svc.Spec.Ports {
			found := false
			for _, ss := range m.statefulSets {
				if selects(t, &metav1.LabelSelector{MatchLabels: svc.Spec.Selector}, ss.Spec.Template.Labels) {
					_, found = containerPort(ss.Spec.Template.Spec.Containers[0], p.TargetPort.String())
				}
			}
			if !found {
				t.Errorf("service %s: port %s targets %q, which its pods do not name", svc.Name, p.Name, p.TargetPort.String())
			}
		}
	}
	nats, mcu := m.statefulSets["nats"], m.statefulSets["mcu"]
	if nats == nil || mcu == nil {
		t.Fatalf("statefulsets %v: want nats and mcu", m.statefulSets)
	}
	checkNATS(t, m, nats)
	checkMCU(t, m, mcu, nats)
}

// checkNATS: three servers with JetStream, each route naming one of them.
func checkNATS(t *testing.T, m *manifests, nats *appsv1.StatefulSet) {
	t.Helper()
	if nats.Spec.Replicas == nil || *nats.Spec.Replicas != 3 {
		t.Errorf("nats: %v replicas, want 3", nats.Spec.Replicas)
	}
	conf := m.configMaps["nats"].Data["nats.conf"]
	if !strings.Contains(conf, "jetstream {") {
		t.Error("nats.conf: JetStream is off")
	}
	for i := range 3 {
		if route := fmt.Sprintf("nats://nats-%d.%s:6222", i, nats.Spec.ServiceName); !strings.Contains(conf, route) {
			t.Errorf("nats.conf: no route %s", route)
		}
	}
}

// checkMCU loads the MCU container's environment as the server would and
// checks it against the manifests.
func checkMCU(t *testing.T, m *manifests, mcu, nats *appsv1.StatefulSet) {
	t.Helper()
	c := mcu.Spec.Template.Spec.Containers[0]
	const podName, hostIP = "mcu-1", "192.0.2.7"
	env := map[string]string{}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			env[e.Name] = regexp.MustCompile(`\$\((\w+)\)`).ReplaceAllStringFunc(e.Value, func(v string) string { return env[v[2:len(v)-1]] })
		case e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.name":
			env[e.Name] = podName
		case e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "status.hostIP":
			env[e.Name] = hostIP
		case e.ValueFrom.SecretKeyRef != nil:
			env[e.Name] = strings.Repeat("s", 64)
		default:
			t.Errorf("mcu: env %s from %v, which this test does not know", e.Name, e.ValueFrom)
		}
	}
	cfg, err := loadConfig(nil, func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("mcu: the environment is no valid configuration: %v", err)
	}
	if cfg.nodeID() != podName {
		t.Errorf("mcu: node id %q, want the pod's name", cfg.nodeID())
	}
	httpPort, ok := containerPort(c, "http")
	_, portText, _ := net.SplitHostPort(cfg.HTTP)
	if !ok || portText != strconv.Itoa(int(httpPort.ContainerPort)) {
		t.Errorf("mcu: listens on %q, its http port is %v", cfg.HTTP, httpPort.ContainerPort)
	}
	if want := fmt.Sprintf("http://%s.%s:%d", podName, mcu.Spec.ServiceName, httpPort.ContainerPort); cfg.PublicURL != want {
		t.Errorf("mcu: public URL %q, want %q (the pod's name in the headless service)", cfg.PublicURL, want)
	}
	if r := c.ReadinessProbe; r == nil || r.HTTPGet == nil || r.HTTPGet.Path != "/readyz" || r.HTTPGet.Port.String() != "http" {
		t.Errorf("mcu: readiness must be GET /readyz on http")
	}
	if l := c.LivenessProbe; l == nil || l.HTTPGet == nil || l.HTTPGet.Path != "/healthz" || l.HTTPGet.Port.String() != "http" {
		t.Errorf("mcu: liveness must be GET /healthz on http")
	}
	var want []string
	for i := range int(*nats.Spec.Replicas) {
		want = append(want, fmt.Sprintf("nats://nats-%d.%s:%d", i, nats.Spec.ServiceName, servicePort(t, m.services[nats.Spec.ServiceName], "client")))
	}
	if strings.Join(cfg.NATS, ",") != strings.Join(want, ",") {
		t.Errorf("mcu: NATS %v, want every NATS server %v", cfg.NATS, want)
	}
	for _, u := range cfg.NATS {
		if _, err := url.Parse(u); err != nil {
			t.Errorf("mcu: NATS URL %q: %v", u, err)
		}
	}
	if cfg.NATSReplicas != int(*nats.Spec.Replicas) {
		t.Errorf("mcu: buckets with %d replicas on %d NATS servers", cfg.NATSReplicas, *nats.Spec.Replicas)
	}
	var grace time.Duration // Kubernetes' default is 30 s
	if g := mcu.Spec.Template.Spec.TerminationGracePeriodSeconds; g != nil {
		grace = time.Duration(*g) * time.Second
	}
	if cfg.DrainTimeout == 0 || grace < cfg.DrainTimeout+shutdownTimeout {
		t.Errorf("mcu: grace period %v (unset: Kubernetes' 30s) for a drain of %v and a shutdown of %v", grace, cfg.DrainTimeout, shutdownTimeout)
	}
	media, ok := containerPort(c, "media")
	if !ok || cfg.UDPPort == 0 || media.ContainerPort != int32(cfg.UDPPort) || media.Protocol != corev1.ProtocolUDP || media.HostPort != media.ContainerPort {
		t.Errorf("mcu: UDP port %d, media port %+v: want it published on the node", cfg.UDPPort, media)
	}
	if len(cfg.PublicIPs) != 1 || cfg.PublicIPs[0] != hostIP {
		t.Errorf("mcu: public IPs %v, want the node's address", cfg.PublicIPs)
	}
	if cfg.AuthSecret == "" {
		t.Error("mcu: no auth secret: anyone could join any room")
	}
	if !bytes.Contains([]byte(fmt.Sprint(mcu.Spec.Template.Spec.Affinity)), []byte("kubernetes.io/hostname")) {
		t.Error("mcu: pods taking the node's UDP port need one node each (anti-affinity)")
	}
}

func servicePort(t *testing.T, svc *corev1.Service, name string) int32 {
	t.Helper()
	if svc != nil {
		for _, p := range svc.Spec.Ports {
			if p.Name == name {
				return p.Port
			}
		}
	}
	t.Fatalf("service %v has no port %s", svc, name)
	return 0
}
