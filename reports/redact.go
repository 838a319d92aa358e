package reports

import (
	"strings"
	"unicode"
)

// redacted replaces a secret value in the report.
const redacted = "***"

// secretWords are the parts of a flag or variable name that mark its value
// as a secret: --secret-key, --api_key, AWS_SECRET_ACCESS_KEY, DB_PASSWORD.
var secretWords = map[string]bool{"key": true, "apikey": true, "secret": true, "token": true, "password": true,
	"passwd": true, "pwd": true, "credential": true, "credentials": true, "auth": true, "authorization": true}

// isSecretName reports whether a flag or variable name holds a secret.
func isSecretName(name string) bool {
	for _, part := range strings.FieldsFunc(strings.ToLower(name), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	}) {
		if secretWords[part] {
			return true
		}
	}
	return false
}

// redactArgv returns argv with the values of secret-named flags and
// variables replaced: --secret-key=X, --secret-key X, -token X and
// NAME=X (an env assignment or a --set field) all lose X. argv itself is
// left as it is (meta.json keeps the truth; the report is what gets shared).
func redactArgv(argv []string) []string {
	out := make([]string, len(argv))
	copy(out, argv)
	for i := 0; i < len(out); i++ {
		a := out[i]
		name, val, hasVal := strings.Cut(a, "=")
		isFlag := strings.HasPrefix(a, "-")
		switch {
		case hasVal && val != "" && isSecretName(name):
			out[i] = name + "=" + redacted
		case isFlag && !hasVal && isSecretName(a) && i+1 < len(out) && !strings.HasPrefix(out[i+1], "-"):
			out[i+1] = redacted
			i++
		}
	}
	return out
}
