package fakebackend

import (
	"context"
	"crypto/subtle"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// sigV4Verifier checks AWS Signature Version 4 on S3 requests. gofakes3
// does not verify signatures at all, so this recomputes the signature with
// the SDK's own signer over the headers the client says it signed.
type sigV4Verifier struct {
	accessKey, secretKey string
}

const sigV4Algorithm = "AWS4-HMAC-SHA256"

// verify returns an S3 error code and message when r is not correctly
// signed with the verifier's keys, or "" when it is.
func (v *sigV4Verifier) verify(r *http.Request) (code, msg string) {
	auth := r.Header.Get("Authorization")
	if auth == "" {
		if r.URL.Query().Get("X-Amz-Signature") != "" {
			return "NotImplemented", "presigned URLs are not verified by the fake backend; turn verify_signatures off"
		}
		return "AccessDenied", "Access Denied: the request is not signed and verify_signatures is on"
	}
	if !strings.HasPrefix(auth, sigV4Algorithm+" ") {
		return "AccessDenied", "only AWS4-HMAC-SHA256 signatures are supported"
	}
	fields := map[string]string{}
	for _, part := range strings.Split(strings.TrimPrefix(auth, sigV4Algorithm+" "), ",") {
		k, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		if ok {
			fields[k] = val
		}
	}
	cred := strings.Split(fields["Credential"], "/")
	if len(cred) != 5 || fields["SignedHeaders"] == "" || fields["Signature"] == "" {
		return "AuthorizationHeaderMalformed", "the authorization header is malformed"
	}
	if cred[0] != v.accessKey {
		return "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records."
	}
	region, service := cred[2], cred[3]
	signTime, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil {
		return "AccessDenied", "missing or bad X-Amz-Date"
	}
	payload := r.Header.Get("X-Amz-Content-Sha256")
	if payload == "" {
		payload = "UNSIGNED-PAYLOAD"
	}

	// Rebuild the request with only the signed headers, as the client saw it.
	u := *r.URL
	u.Scheme, u.Host = "http", r.Host
	clone := &http.Request{Method: r.Method, URL: &u, Host: r.Host, Header: http.Header{}}
	for _, h := range strings.Split(fields["SignedHeaders"], ";") {
		switch h {
		case "host":
		case "content-length":
			clone.ContentLength = r.ContentLength
		default:
			if vals, ok := r.Header[http.CanonicalHeaderKey(h)]; ok {
				clone.Header[http.CanonicalHeaderKey(h)] = vals
			}
		}
	}
	signer := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
	creds := aws.Credentials{AccessKeyID: v.accessKey, SecretAccessKey: v.secretKey}
	if err := signer.SignHTTP(context.Background(), creds, clone, payload, service, region, signTime); err != nil {
		return "AccessDenied", "cannot verify the signature: " + err.Error()
	}
	_, want, _ := strings.Cut(clone.Header.Get("Authorization"), "Signature=")
	if subtle.ConstantTimeCompare([]byte(want), []byte(fields["Signature"])) != 1 {
		return "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided. Check your key and signing method."
	}
	return "", ""
}
