package testsut

import (
	"encoding/xml"
	"net/http"
)

// s3Error is the body of an S3 error response.
type s3Error struct {
	Code    string `xml:"Code"`
	Message string `xml:"Message"`
}

// mapS3Status maps an S3 error response to the status the target returns:
// missing things are 404, throttling and backend trouble 503, client
// mistakes keep their 4xx, anything else is 502.
func mapS3Status(status int, body []byte) (int, string) {
	var e s3Error
	_ = xml.Unmarshal(body, &e) // a body that is not S3 XML still maps by status
	switch e.Code {
	case "NoSuchKey", "NoSuchBucket", "NotFound":
		return http.StatusNotFound, e.Code
	case "SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout", "Throttling":
		return http.StatusServiceUnavailable, e.Code
	case "AccessDenied", "SignatureDoesNotMatch", "InvalidAccessKeyId":
		return http.StatusForbidden, e.Code
	}
	code := e.Code
	if code == "" {
		code = http.StatusText(status)
	}
	switch {
	case status == http.StatusNotFound:
		return http.StatusNotFound, code
	case status == http.StatusServiceUnavailable || status == http.StatusTooManyRequests || status >= 500:
		return http.StatusServiceUnavailable, code
	case status >= 400:
		return status, code
	}
	return http.StatusBadGateway, code
}
