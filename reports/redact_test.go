package reports

import (
	"slices"
	"testing"
)

func TestRedactArgv(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in, want []string
	}{
		{[]string{"srv", "--secret-key", "s3cr3t", "--listen", "127.0.0.1:1"}, []string{"srv", "--secret-key", "***", "--listen", "127.0.0.1:1"}},
		{[]string{"srv", "--access-key=AK", "-token=T", "--idle-timeout", "4s"}, []string{"srv", "--access-key=***", "-token=***", "--idle-timeout", "4s"}},
		{[]string{"soak", "run", "x.yaml", "--set", "vars.db_password=hunter2", "--set", "vars.rate=5/s"},
			[]string{"soak", "run", "x.yaml", "--set", "vars.db_password=***", "--set", "vars.rate=5/s"}},
		{[]string{"env", "AWS_SECRET_ACCESS_KEY=abc", "SSL_CERT_FILE=/ca.pem", "API-KEY=k"}, []string{"env", "AWS_SECRET_ACCESS_KEY=***", "SSL_CERT_FILE=/ca.pem", "API-KEY=***"}},
		{[]string{"srv", "--password", "--verbose", "--keepalive", "on", "--monkey", "x"}, []string{"srv", "--password", "--verbose", "--keepalive", "on", "--monkey", "x"}},
		{nil, []string{}},
	} {
		if got := redactArgv(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("redactArgv(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
