package service

import "testing"

func TestCheckTargets(t *testing.T) {
	http := &Check{Kind: CheckHTTP, Path: "/health"}
	https := &Check{Kind: CheckHTTPS, Path: "/h"}
	script := &Check{Kind: CheckScript, Path: "nc $SERVICE_IP $SERVICE_PORT | grep OK; echo $SERVICE_PORT"}
	cases := []struct{ got, want string }{
		{http.HTTPTarget("10.0.0.1", 8080), "http://10.0.0.1:8080/health"},
		{https.HTTPTarget("10.0.0.1", 8443), "https://10.0.0.1:8443/h"},
		{http.HTTPTarget("fd00::1", 80), "http://[fd00::1]:80/health"},
		{http.TCPTarget("10.0.0.1", 22), "10.0.0.1:22"},
		{script.Command("10.0.0.1", 6379), "nc 10.0.0.1 6379 | grep OK; echo 6379"},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}

func TestAddressFallsBackToNode(t *testing.T) {
	if got := (&Service{}).Address("192.168.1.5"); got != "192.168.1.5" {
		t.Errorf("empty IP: %q", got)
	}
	if got := (&Service{IP: "10.0.0.1"}).Address("192.168.1.5"); got != "10.0.0.1" {
		t.Errorf("set IP: %q", got)
	}
}

func TestFingerprintTracksRegistrationNotHealth(t *testing.T) {
	a := &Service{ID: "x", Name: "web", Port: 80, Tags: []string{"a"}, Meta: map[string]string{"k": "v", "j": "w"}, DockerHealth: HealthStarting}
	b := &Service{ID: "x", Name: "web", Port: 80, Tags: []string{"a"}, Meta: map[string]string{"j": "w", "k": "v"}, DockerHealth: HealthHealthy}
	if a.Fingerprint() != b.Fingerprint() {
		t.Error("a health change must not count as a new registration")
	}
	b.Tags = []string{"b"}
	if a.Fingerprint() == b.Fingerprint() {
		t.Error("a tag change must count")
	}
	c := *a
	c.DockerHealth = ""
	if a.Fingerprint() == c.Fingerprint() {
		t.Error("gaining or losing a health check must count")
	}
}
