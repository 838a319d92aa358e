package fakebackend

import (
	"crypto/md5"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/soak-dev/soak/scenarios"
)

func init() { registerKind(scenarios.AzureBackend{}, newAzureProto) }

var _ protocol = (*azureProto)(nil)

// azureAPIVersion is the x-ms-version the fake answers with.
const azureAPIVersion = "2023-11-03"

// azureProto is a hand-written subset of the Azure Blob REST API: no
// maintained Go fake exists to wrap. Paths are /ACCOUNT/CONTAINER/BLOB
// (the emulator style a connection string's BlobEndpoint points at).
// Shared Key signatures are accepted unchecked.
type azureProto struct {
	maxBytes, maxCount int64

	mu         sync.Mutex
	containers map[string]map[string]*azureBlob
	bytes      int64
	count      int64
	inflight   int64 // bytes of uploads admitted, being read
	// newInflight counts uploads of new blobs admitted, being read: each
	// holds a place under maxCount until it is stored or refused, so
	// concurrent uploads cannot all pass the check and then all store.
	newInflight int64
}

type azureBlob struct {
	data        []byte
	contentType string
	etag        string
	modified    time.Time
	md5         []byte
}

func newAzureProto(cfg *scenarios.Backend) (protocol, error) {
	p := &azureProto{maxBytes: DefaultMaxBytes, maxCount: DefaultMaxCount, containers: map[string]map[string]*azureBlob{}}
	if o := cfg.Objects; o != nil {
		if o.MaxBytes > 0 {
			p.maxBytes = int64(o.MaxBytes)
		}
		if o.MaxCount > 0 {
			p.maxCount = int64(o.MaxCount)
		}
	}
	return p, nil
}

func (p *azureProto) createBuckets(names []string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, n := range names {
		if _, ok := p.containers[n]; !ok {
			p.containers[n] = map[string]*azureBlob{}
		}
	}
	return nil
}

func (p *azureProto) writeError(w http.ResponseWriter, r *http.Request, status int) {
	code, msg := "InternalError", "The server encountered an internal error. Please retry the request."
	if status == http.StatusServiceUnavailable {
		code, msg = "ServerBusy", "The server is currently unable to receive requests. Please retry your request."
	}
	writeAzureError(w, r, status, code, msg)
}

func writeAzureError(w http.ResponseWriter, r *http.Request, status int, code, msg string) {
	w.Header().Set("x-ms-error-code", code)
	w.Header().Set("x-ms-version", azureAPIVersion)
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	if r.Method == http.MethodHead {
		return
	}
	b, _ := xml.Marshal(struct {
		XMLName xml.Name `xml:"Error"`
		Code    string
		Message string
	}{Code: code, Message: msg})
	_, _ = io.WriteString(w, xml.Header)
	_, _ = w.Write(b)
}

func (p *azureProto) handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("x-ms-version", azureAPIVersion)
		w.Header().Set("x-ms-request-id", "soak")
		parts := strings.SplitN(strings.TrimPrefix(r.URL.Path, "/"), "/", 3)
		q := r.URL.Query()
		switch {
		case len(parts) < 2 || parts[1] == "":
			writeAzureError(w, r, http.StatusBadRequest, "InvalidUri", "want /ACCOUNT/CONTAINER[/BLOB]")
		case len(parts) == 2 && q.Get("restype") == "container" && q.Get("comp") == "list":
			p.listBlobs(w, r, parts[1])
		case len(parts) == 2 && q.Get("restype") == "container":
			p.container(w, r, parts[1])
		case len(parts) == 3 && parts[2] != "":
			p.blob(w, r, parts[1], parts[2])
		default:
			writeAzureError(w, r, http.StatusBadRequest, "InvalidUri", "unsupported request")
		}
	})
}

func (p *azureProto) container(w http.ResponseWriter, r *http.Request, name string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, exists := p.containers[name]
	switch r.Method {
	case http.MethodPut:
		if exists {
			writeAzureError(w, r, http.StatusConflict, "ContainerAlreadyExists", "The specified container already exists.")
			return
		}
		if !validContainerName(name) {
			writeAzureError(w, r, http.StatusBadRequest, "InvalidResourceName", "The specified resource name contains invalid characters.")
			return
		}
		p.containers[name] = map[string]*azureBlob{}
		w.Header().Set("ETag", `"0x1"`)
		w.Header().Set("Last-Modified", time.Now().UTC().Format(http.TimeFormat))
		w.WriteHeader(http.StatusCreated)
	case http.MethodGet, http.MethodHead:
		if !exists {
			writeAzureError(w, r, http.StatusNotFound, "ContainerNotFound", "The specified container does not exist.")
			return
		}
		w.Header().Set("ETag", `"0x1"`)
		w.WriteHeader(http.StatusOK)
	case http.MethodDelete:
		if !exists {
			writeAzureError(w, r, http.StatusNotFound, "ContainerNotFound", "The specified container does not exist.")
			return
		}
		for _, b := range p.containers[name] {
			p.bytes -= int64(len(b.data))
			p.count--
		}
		delete(p.containers, name)
		w.WriteHeader(http.StatusAccepted)
	default:
		writeAzureError(w, r, http.StatusMethodNotAllowed, "UnsupportedHttpVerb", "The resource doesn't support the specified HTTP verb.")
	}
}

// validContainerName follows Azure's rules: 3-63 of [a-z0-9-], starting
// with a letter or digit, no "--".
func validContainerName(n string) bool {
	if len(n) < 3 || len(n) > 63 || n[0] == '-' || strings.Contains(n, "--") {
		return false
	}
	for _, c := range n {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

func (p *azureProto) blob(w http.ResponseWriter, r *http.Request, container, name string) {
	switch r.Method {
	case http.MethodPut:
		p.putBlob(w, r, container, name)
	case http.MethodGet, http.MethodHead:
		p.getBlob(w, r, container, name)
	case http.MethodDelete:
		p.mu.Lock()
		defer p.mu.Unlock()
		c, ok := p.containers[container]
		if !ok {
			writeAzureError(w, r, http.StatusNotFound, "ContainerNotFound", "The specified container does not exist.")
			return
		}
		b, ok := c[name]
		if !ok {
			writeAzureError(w, r, http.StatusNotFound, "BlobNotFound", "The specified blob does not exist.")
			return
		}
		p.bytes -= int64(len(b.data))
		p.count--
		delete(c, name)
		w.WriteHeader(http.StatusAccepted)
	default:
		writeAzureError(w, r, http.StatusMethodNotAllowed, "UnsupportedHttpVerb", "The resource doesn't support the specified HTTP verb.")
	}
}

func (p *azureProto) putBlob(w http.ResponseWriter, r *http.Request, container, name string) {
	if r.URL.Query().Get("comp") != "" {
		writeAzureError(w, r, http.StatusNotImplemented, "NotImplemented", "only Put Blob is supported (no blocks, pages or appends)")
		return
	}
	if t := r.Header.Get("x-ms-blob-type"); t != "" && t != "BlockBlob" {
		writeAzureError(w, r, http.StatusBadRequest, "InvalidHeaderValue", "only BlockBlob is supported")
		return
	}
	if r.ContentLength < 0 {
		writeAzureError(w, r, http.StatusLengthRequired, "MissingContentLengthHeader", "Content-Length is required.")
		return
	}
	p.mu.Lock()
	_, ok := p.containers[container]
	var old int64 = -1
	if ok {
		if b, exists := p.containers[container][name]; exists {
			old = int64(len(b.data))
		}
	}
	// A new blob reserves its place under max_count (held or being read),
	// as its bytes are: checked and reserved under one lock.
	reserved := int64(0)
	if old < 0 {
		reserved = 1
	}
	over := p.bytes+p.inflight+r.ContentLength > p.maxBytes || p.count+p.newInflight+reserved > p.maxCount
	if ok && !over {
		// Reserved while the body arrives: concurrent uploads that each
		// fit alone were all admitted, and held more than the cap.
		p.inflight += r.ContentLength
		p.newInflight += reserved
		defer func() {
			p.mu.Lock()
			p.inflight -= r.ContentLength
			p.newInflight -= reserved
			p.mu.Unlock()
		}()
	}
	p.mu.Unlock()
	if !ok {
		writeAzureError(w, r, http.StatusNotFound, "ContainerNotFound", "The specified container does not exist.")
		return
	}
	if over {
		// Azure's own code for a body the service will not take.
		writeAzureError(w, r, http.StatusRequestEntityTooLarge, "RequestBodyTooLarge",
			fmt.Sprintf("the fake backend holds at most %d bytes and %d blobs; raise objects.max_bytes/max_count", p.maxBytes, p.maxCount))
		return
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, r.ContentLength+1))
	if err != nil || int64(len(data)) != r.ContentLength {
		writeAzureError(w, r, http.StatusBadRequest, "InvalidInput", "the body does not match Content-Length")
		return
	}
	sum := md5.Sum(data)
	now := time.Now().UTC()
	blob := &azureBlob{data: data, contentType: r.Header.Get("x-ms-blob-content-type"), md5: sum[:], modified: now,
		etag: fmt.Sprintf(`"0x%X"`, now.UnixNano())}
	if blob.contentType == "" {
		blob.contentType = "application/octet-stream"
	}
	p.mu.Lock()
	c, ok := p.containers[container]
	if !ok { // deleted meanwhile
		p.mu.Unlock()
		writeAzureError(w, r, http.StatusNotFound, "ContainerNotFound", "The specified container does not exist.")
		return
	}
	prev, exists := c[name]
	// A blob that existed at admission and was deleted while this body
	// arrived reserved no place: it may store only if one is free.
	if !exists && reserved == 0 && p.count+p.newInflight+1 > p.maxCount {
		p.mu.Unlock()
		writeAzureError(w, r, http.StatusRequestEntityTooLarge, "RequestBodyTooLarge",
			fmt.Sprintf("the fake backend holds at most %d blobs; raise objects.max_count", p.maxCount))
		return
	}
	if exists {
		p.bytes -= int64(len(prev.data))
	} else {
		p.count++
	}
	c[name] = blob
	p.bytes += int64(len(data))
	p.mu.Unlock()
	w.Header().Set("ETag", blob.etag)
	w.Header().Set("Last-Modified", now.Format(http.TimeFormat))
	w.Header().Set("Content-MD5", base64.StdEncoding.EncodeToString(blob.md5))
	w.Header().Set("x-ms-request-server-encrypted", "false")
	w.WriteHeader(http.StatusCreated)
}

func (p *azureProto) getBlob(w http.ResponseWriter, r *http.Request, container, name string) {
	p.mu.Lock()
	c, ok := p.containers[container]
	var b *azureBlob
	if ok {
		b = c[name]
	}
	p.mu.Unlock()
	if !ok {
		writeAzureError(w, r, http.StatusNotFound, "ContainerNotFound", "The specified container does not exist.")
		return
	}
	if b == nil {
		writeAzureError(w, r, http.StatusNotFound, "BlobNotFound", "The specified blob does not exist.")
		return
	}
	size := int64(len(b.data))
	h := w.Header()
	h.Set("ETag", b.etag)
	h.Set("Last-Modified", b.modified.Format(http.TimeFormat))
	h.Set("Content-Type", b.contentType)
	h.Set("x-ms-blob-type", "BlockBlob")
	h.Set("Accept-Ranges", "bytes")
	h.Set("x-ms-creation-time", b.modified.Format(http.TimeFormat))
	rng := r.Header.Get("x-ms-range")
	if rng == "" {
		rng = r.Header.Get("Range")
	}
	start, end := int64(0), size-1
	status := http.StatusOK
	if rng != "" && r.Method == http.MethodGet {
		s, e, ok := parseAzureRange(rng, size)
		if !ok {
			h.Set("Content-Range", fmt.Sprintf("bytes */%d", size))
			writeAzureError(w, r, http.StatusRequestedRangeNotSatisfiable, "InvalidRange", "The range specified is invalid for the current size of the resource.")
			return
		}
		start, end, status = s, e, http.StatusPartialContent
		h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, end, size))
	} else {
		h.Set("Content-MD5", base64.StdEncoding.EncodeToString(b.md5))
	}
	h.Set("Content-Length", strconv.FormatInt(end-start+1, 10))
	w.WriteHeader(status)
	if r.Method == http.MethodGet && size > 0 {
		_, _ = w.Write(b.data[start : end+1])
	}
}

// parseAzureRange parses "bytes=a-b" or "bytes=a-" against size.
func parseAzureRange(s string, size int64) (start, end int64, ok bool) {
	spec, found := strings.CutPrefix(s, "bytes=")
	if !found {
		return 0, 0, false
	}
	a, b, found := strings.Cut(spec, "-")
	if !found {
		return 0, 0, false
	}
	start, err := strconv.ParseInt(a, 10, 64)
	if err != nil || start < 0 || start >= size {
		return 0, 0, false
	}
	end = size - 1
	if b != "" {
		e, err := strconv.ParseInt(b, 10, 64)
		if err != nil || e < start {
			return 0, 0, false
		}
		end = min(e, size-1)
	}
	return start, end, true
}

// azureList is List Blobs' EnumerationResults.
type azureList struct {
	XMLName       xml.Name         `xml:"EnumerationResults"`
	ContainerName string           `xml:"ContainerName,attr"`
	Prefix        string           `xml:"Prefix,omitempty"`
	Marker        string           `xml:"Marker,omitempty"`
	MaxResults    int              `xml:"MaxResults,omitempty"`
	Delimiter     string           `xml:"Delimiter,omitempty"`
	Blobs         azureListEntries `xml:"Blobs"`
	NextMarker    string           `xml:"NextMarker"`
}

type azureListEntries struct {
	Blob       []azureListBlob   `xml:"Blob"`
	BlobPrefix []azureListPrefix `xml:"BlobPrefix"`
}

type azureListBlob struct {
	Name       string
	Properties struct {
		LastModified  string `xml:"Last-Modified"`
		Etag          string `xml:"Etag"`
		ContentLength int64  `xml:"Content-Length"`
		ContentType   string `xml:"Content-Type"`
		BlobType      string `xml:"BlobType"`
	}
}

type azureListPrefix struct{ Name string }

func (p *azureProto) listBlobs(w http.ResponseWriter, r *http.Request, container string) {
	q := r.URL.Query()
	prefix, delim, marker := q.Get("prefix"), q.Get("delimiter"), q.Get("marker")
	maxResults := 5000
	if v := q.Get("maxresults"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			writeAzureError(w, r, http.StatusBadRequest, "OutOfRangeQueryParameterValue", "maxresults must be >= 1")
			return
		}
		maxResults = min(n, 5000)
	}
	p.mu.Lock()
	c, ok := p.containers[container]
	var names []string
	blobs := map[string]azureListBlob{}
	for n, b := range c {
		if !strings.HasPrefix(n, prefix) {
			continue
		}
		e := azureListBlob{Name: n}
		e.Properties.LastModified = b.modified.Format(http.TimeFormat)
		e.Properties.Etag = b.etag
		e.Properties.ContentLength = int64(len(b.data))
		e.Properties.ContentType = b.contentType
		e.Properties.BlobType = "BlockBlob"
		blobs[n] = e
		names = append(names, n)
	}
	p.mu.Unlock()
	if !ok {
		writeAzureError(w, r, http.StatusNotFound, "ContainerNotFound", "The specified container does not exist.")
		return
	}
	sort.Strings(names)
	out := azureList{ContainerName: container, Prefix: prefix, Marker: marker, MaxResults: maxResults, Delimiter: delim}
	seen := map[string]bool{}
	n := 0
	for _, name := range names {
		if name < marker {
			continue
		}
		entry := name
		if delim != "" {
			if i := strings.Index(name[len(prefix):], delim); i >= 0 {
				entry = name[:len(prefix)+i+len(delim)]
			}
		}
		if seen[entry] {
			continue
		}
		if n == maxResults {
			out.NextMarker = name
			break
		}
		seen[entry] = true
		n++
		if entry != name {
			out.Blobs.BlobPrefix = append(out.Blobs.BlobPrefix, azureListPrefix{Name: entry})
		} else {
			out.Blobs.Blob = append(out.Blobs.Blob, blobs[name])
		}
	}
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(http.StatusOK)
	b, _ := xml.Marshal(out)
	_, _ = io.WriteString(w, xml.Header)
	_, _ = w.Write(b)
}
