package testsut

import (
	"errors"
	"net/http"
	"testing"
	"time"
)

func TestValidate(t *testing.T) {
	ok := func(mod func(*Config)) Config {
		c := DefaultConfig()
		c.Role, c.Listen, c.Backend = RoleTarget, "127.0.0.1:0", "http://127.0.0.1:9000"
		mod(&c)
		return c
	}
	for _, tc := range []struct {
		name    string
		cfg     Config
		wantErr bool
	}{
		{"target ok", ok(func(*Config) {}), false},
		{"proxy ok", ok(func(c *Config) { c.Role, c.Targets = RoleProxy, []string{"http://127.0.0.1:1"} }), false},
		{"no listen", ok(func(c *Config) { c.Listen = "" }), true},
		{"no role", ok(func(c *Config) { c.Role = "" }), true},
		{"bad role", ok(func(c *Config) { c.Role = "gateway" }), true},
		{"proxy no targets", ok(func(c *Config) { c.Role = RoleProxy }), true},
		{"proxy bad target", ok(func(c *Config) { c.Role, c.Targets = RoleProxy, []string{"127.0.0.1:1"} }), true},
		{"target no backend", ok(func(c *Config) { c.Backend = "" }), true},
		{"target https backend", ok(func(c *Config) { c.Backend = "https://s3.amazonaws.com" }), true},
		{"half keys", ok(func(c *Config) { c.AccessKey = "k" }), true},
		{"both keys", ok(func(c *Config) { c.AccessKey, c.SecretKey = "k", "s" }), false},
		{"bad engine", ok(func(c *Config) { c.Engine = "h2o" }), true},
		{"bad client engine", ok(func(c *Config) { c.ClientEngine = "curl" }), true},
		{"fasthttp", ok(func(c *Config) { c.Engine = EngineFastHTTP }), false},
		{"negative timeout", ok(func(c *Config) { c.IdleTimeout = -time.Second }), true},
		{"zero timeout", ok(func(c *Config) { c.IdleTimeout = 0 }), false},
		{"negative pool", ok(func(c *Config) { c.BackendMaxIdlePerHost = -1 }), true},
		{"unknown leak", ok(func(c *Config) { c.Leaks = []Leak{"memory"} }), true},
		{"known leak", ok(func(c *Config) { c.Leaks = []Leak{LeakCloseWait} }), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if got := err != nil; got != tc.wantErr {
				t.Fatalf("Validate() = %v, want error %t", err, tc.wantErr)
			}
			if err != nil && !errors.Is(err, ErrConfig) {
				t.Errorf("error %v does not wrap ErrConfig", err)
			}
		})
	}
}

func TestParseLeaks(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    int
		wantErr bool
	}{
		{"", 0, false},
		{"close-wait", 1, false},
		{" close-wait , goroutine-per-request ,", 2, false},
		{"close-wait,nope", 0, true},
	} {
		got, err := ParseLeaks(tc.in)
		if (err != nil) != tc.wantErr || len(got) != tc.want {
			t.Errorf("ParseLeaks(%q) = %v, %v; want %d leaks, error %t", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
	if got, want := len(Leaks()), 6; got != want {
		t.Errorf("Leaks() has %d, want %d", got, want)
	}
}

func TestParseObjectPath(t *testing.T) {
	for _, tc := range []struct {
		path, bucket, key string
		ok                bool
	}{
		{"/v1/objects/soak/a", "soak", "a", true},
		{"/v1/objects/soak/syn/obj-1", "soak", "syn/obj-1", true},
		{"/v1/objects/soak/", "", "", false},
		{"/v1/objects/soak", "", "", false},
		{"/v1/objects/", "", "", false},
		{"/v2/objects/soak/a", "", "", false},
		{"/", "", "", false},
	} {
		b, k, ok := parseObjectPath(tc.path)
		if b != tc.bucket || k != tc.key || ok != tc.ok {
			t.Errorf("parseObjectPath(%q) = %q, %q, %t; want %q, %q, %t", tc.path, b, k, ok, tc.bucket, tc.key, tc.ok)
		}
	}
}

func TestMapS3Status(t *testing.T) {
	xmlErr := func(code string) []byte {
		return []byte(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>` + code + `</Code><Message>m</Message></Error>`)
	}
	for _, tc := range []struct {
		status int
		body   []byte
		want   int
	}{
		{404, xmlErr("NoSuchKey"), http.StatusNotFound},
		{404, xmlErr("NoSuchBucket"), http.StatusNotFound},
		{503, xmlErr("SlowDown"), http.StatusServiceUnavailable},
		{500, xmlErr("InternalError"), http.StatusServiceUnavailable},
		{403, xmlErr("SignatureDoesNotMatch"), http.StatusForbidden},
		{400, xmlErr("InvalidArgument"), http.StatusBadRequest},
		{404, []byte("not xml"), http.StatusNotFound},
		{502, nil, http.StatusServiceUnavailable},
		{429, nil, http.StatusServiceUnavailable},
		{304, nil, http.StatusBadGateway},
	} {
		if got, _ := mapS3Status(tc.status, tc.body); got != tc.want {
			t.Errorf("mapS3Status(%d, %q) = %d, want %d", tc.status, tc.body, got, tc.want)
		}
	}
}
