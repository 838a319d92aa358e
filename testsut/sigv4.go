package testsut

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// newSigner returns a function that signs S3 requests with SigV4 for the
// given static keys and region.
func newSigner(accessKey, secretKey, region string) func(req *http.Request, payload []byte) error {
	signer := v4.NewSigner()
	creds := aws.Credentials{AccessKeyID: accessKey, SecretAccessKey: secretKey}
	return func(req *http.Request, payload []byte) error {
		sum := sha256.Sum256(payload)
		hash := hex.EncodeToString(sum[:])
		req.Header.Set("X-Amz-Content-Sha256", hash)
		return signer.SignHTTP(req.Context(), creds, req, hash, "s3", region, time.Now())
	}
}
