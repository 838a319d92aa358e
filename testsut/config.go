package testsut

import (
	"errors"
	"fmt"
	"log"
	"net/url"
	"strings"
	"time"
)

// Role is what a node does in the cluster.
type Role string

// The roles of the cluster.
const (
	// RoleProxy accepts client requests and forwards them to targets.
	RoleProxy Role = "proxy"
	// RoleTarget serves the proxy's requests from the S3 backend.
	RoleTarget Role = "target"
)

// Engine is an HTTP implementation, for a server or a client.
type Engine string

// The engines.
const (
	// EngineNetHTTP is Go's net/http (http.Server, http.Transport).
	EngineNetHTTP Engine = "net/http"
	// EngineFastHTTP is github.com/valyala/fasthttp (Server, HostClient).
	EngineFastHTTP Engine = "fasthttp"
)

// Defaults, as in the object store the reference SUT models.
const (
	// DefaultIdleTimeout is the server's IdleTimeout (client layer on the
	// proxy, intra layer's server side on the target).
	DefaultIdleTimeout = 20 * time.Second
	// DefaultReadHeaderTimeout is the server's ReadHeaderTimeout.
	DefaultReadHeaderTimeout = 10 * time.Second
	// DefaultIntraIdleConnTimeout is the proxy -> target client's idle timeout.
	DefaultIntraIdleConnTimeout = 10 * time.Second
	// DefaultBackendIdleConnTimeout is the target -> backend client's idle timeout.
	DefaultBackendIdleConnTimeout = 6 * time.Second
	// DefaultMaxIdlePerHost bounds idle pooled connections per host on both clients.
	DefaultMaxIdlePerHost = 32
	// DefaultRegion is the SigV4 signing region.
	DefaultRegion = "us-east-1"
	// leakyMaxIdlePerHost is the pool bound the intra-no-idle-timeout leak uses.
	leakyMaxIdlePerHost = 100000
)

// Config is one node's configuration. The zero value is not valid: use
// DefaultConfig and set Role, Listen and Targets or Backend.
type Config struct {
	// Role is proxy or target.
	Role Role
	// Listen is the server's address, host:port (port 0 picks one; see Ready).
	Listen string
	// Targets are the targets' base URLs (proxy only), e.g. http://127.0.0.1:9001.
	Targets []string
	// Backend is the S3 endpoint's base URL (target only); objects live at
	// {Backend}/{bucket}/{key}.
	Backend string
	// Bucket, if set, is the only bucket the target serves; requests for
	// other buckets get 404. Empty: any bucket.
	Bucket string
	// AccessKey and SecretKey, when both set, make the target sign backend
	// requests with SigV4 for Region; otherwise requests are unsigned.
	AccessKey, SecretKey string
	// Region is the SigV4 region (default us-east-1).
	Region string
	// Engine is the server engine (default net/http).
	Engine Engine
	// ClientEngine is the engine of this node's outgoing client (proxy ->
	// target, or target -> backend); empty means Engine.
	ClientEngine Engine
	// IdleTimeout is the server's keep-alive idle timeout; 0 leaves it unset,
	// and then both engines fall back to their read timeout (none here), so
	// idle connections are never closed by the server.
	IdleTimeout time.Duration
	// ReadHeaderTimeout bounds reading a request's headers; 0 = none.
	ReadHeaderTimeout time.Duration
	// IntraIdleConnTimeout is the proxy's idle timeout for pooled connections
	// to targets (net/http IdleConnTimeout, fasthttp MaxIdleConnDuration);
	// 0 = never, on both engines (for fasthttp a huge MaxIdleConnDuration,
	// not its 10 s default).
	IntraIdleConnTimeout time.Duration
	// IntraMaxIdlePerHost bounds the proxy's idle connections per target
	// (net/http MaxIdleConnsPerHost; fasthttp MaxConns).
	IntraMaxIdlePerHost int
	// BackendIdleConnTimeout is the target's idle timeout for pooled
	// connections to the backend.
	BackendIdleConnTimeout time.Duration
	// BackendMaxIdlePerHost bounds the target's idle connections to the backend.
	BackendMaxIdlePerHost int
	// Cache makes the target keep objects it has read or written in memory
	// and serve GETs from there.
	Cache bool
	// Leaks are the bugs to switch on.
	Leaks []Leak
	// PIDFile, if set, gets the process id once the server listens.
	PIDFile string
	// Logf logs one line; nil logs to stderr.
	Logf func(format string, args ...any) `json:"-"`
	// Ready, if set, is called with the bound address once the node serves.
	Ready func(addr string) `json:"-"`
}

// DefaultConfig returns a Config with every default set.
func DefaultConfig() Config {
	return Config{
		Region:                 DefaultRegion,
		Engine:                 EngineNetHTTP,
		IdleTimeout:            DefaultIdleTimeout,
		ReadHeaderTimeout:      DefaultReadHeaderTimeout,
		IntraIdleConnTimeout:   DefaultIntraIdleConnTimeout,
		IntraMaxIdlePerHost:    DefaultMaxIdlePerHost,
		BackendIdleConnTimeout: DefaultBackendIdleConnTimeout,
		BackendMaxIdlePerHost:  DefaultMaxIdlePerHost,
	}
}

// ErrConfig marks an invalid configuration.
var ErrConfig = errors.New("invalid testsut config")

// Validate reports the first problem with c, wrapping ErrConfig.
func (c Config) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrConfig, fmt.Sprintf(format, args...))
	}
	if c.Listen == "" {
		return bad("--listen is required (host:port)")
	}
	switch c.Role {
	case RoleProxy:
		if len(c.Targets) == 0 {
			return bad("role proxy needs --targets (one or more http:// URLs)")
		}
		for _, t := range c.Targets {
			if err := checkBaseURL(t); err != nil {
				return bad("target %q: %v", t, err)
			}
		}
	case RoleTarget:
		if c.Backend == "" {
			return bad("role target needs --backend (the S3 endpoint URL)")
		}
		if err := checkBaseURL(c.Backend); err != nil {
			return bad("backend %q: %v", c.Backend, err)
		}
		if (c.AccessKey == "") != (c.SecretKey == "") {
			return bad("give both --access-key and --secret-key, or neither")
		}
	default:
		return bad("role %q: want proxy or target", c.Role)
	}
	for _, e := range []Engine{c.Engine, c.ClientEngine} {
		if e != "" && e != EngineNetHTTP && e != EngineFastHTTP {
			return bad("engine %q: want net/http or fasthttp", e)
		}
	}
	for name, d := range map[string]time.Duration{
		"idle-timeout": c.IdleTimeout, "read-header-timeout": c.ReadHeaderTimeout,
		"intra-idle-conn-timeout": c.IntraIdleConnTimeout, "backend-idle-conn-timeout": c.BackendIdleConnTimeout,
	} {
		if d < 0 {
			return bad("--%s %v is negative", name, d)
		}
	}
	if c.IntraMaxIdlePerHost < 0 || c.BackendMaxIdlePerHost < 0 {
		return bad("max idle per host must be >= 0")
	}
	for _, l := range c.Leaks {
		if !l.valid() {
			return bad("unknown leak %q (known: %s)", l, strings.Join(leakNames(), ", "))
		}
	}
	return nil
}

func checkBaseURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return err
	}
	if u.Scheme != "http" || u.Host == "" {
		return errors.New("want http://host:port")
	}
	return nil
}

// clientEngine is the engine of the node's outgoing client.
func (c Config) clientEngine() Engine {
	if c.ClientEngine != "" {
		return c.ClientEngine
	}
	if c.Engine != "" {
		return c.Engine
	}
	return EngineNetHTTP
}

// serverEngine is the engine of the node's server.
func (c Config) serverEngine() Engine {
	if c.Engine != "" {
		return c.Engine
	}
	return EngineNetHTTP
}

// has reports whether leak l is switched on.
func (c Config) has(l Leak) bool {
	for _, x := range c.Leaks {
		if x == l {
			return true
		}
	}
	return false
}

// logf is the node's logger.
func (c Config) logf() func(string, ...any) {
	if c.Logf != nil {
		return c.Logf
	}
	return func(format string, args ...any) { log.Printf(format, args...) }
}
