package fakebackend

import (
	"crypto/md5"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/soak-dev/soak/scenarios"
)

// codeEntityTooLarge is S3's own code for an upload the store will not
// take. S3 has no "store full" error; EntityTooLarge (400) is the real code
// closest to it and, unlike 503, SDKs do not retry it forever.
const codeEntityTooLarge gofakes3.ErrorCode = "EntityTooLarge"

// capStore is a gofakes3 Backend that caps the bytes and objects held and
// answers synthetic objects. It hides s3mem's versioning (not needed by a
// soak) so gofakes3 uses its own multipart uploader over PutObject, which
// keeps every byte stored going through the cap.
type capStore struct {
	gofakes3.Backend
	maxBytes, maxCount int64
	synth              []*scenarios.Synthetic
	// synthModified is the Last-Modified of every synthetic object: when
	// the store was made, to the second as HTTP dates are. Real S3 always
	// sends Last-Modified and ETag, and some clients dereference them unchecked.
	synthModified string

	mu           sync.Mutex
	bytes, count int64
	// parts are the bytes of multipart uploads in progress, by upload id
	// and part number: gofakes3 holds them in memory until the upload is
	// completed or aborted, so they count against maxBytes too.
	parts     map[string]map[int]int64
	partBytes int64
	// sizes is the size of every object stored, by bucket and key, as this
	// store counted it: concurrent PUTs of one new key each saw it absent
	// (a HeadObject before the body) and each counted it, so bytes and
	// count drifted up for good and the store refused uploads it had room
	// for. Counting from this map at commit keeps count exact.
	sizes map[string]int64
	// inflight and inflightNew are the bytes and new objects of PUTs
	// admitted whose bodies are being read.
	inflight, inflightNew int64
}

// sizeKey names an object in capStore.sizes.
func sizeKey(bucket, key string) string { return bucket + "\x00" + key }

func newCapStore(inner gofakes3.Backend, objs *scenarios.Objects) *capStore {
	s := &capStore{Backend: inner, maxBytes: DefaultMaxBytes, maxCount: DefaultMaxCount,
		synthModified: time.Now().UTC().Format(http.TimeFormat), parts: map[string]map[int]int64{}, sizes: map[string]int64{}}
	if objs != nil {
		if objs.MaxBytes > 0 {
			s.maxBytes = int64(objs.MaxBytes)
		}
		if objs.MaxCount > 0 {
			s.maxCount = int64(objs.MaxCount)
		}
		s.synth = objs.Synthetic
	}
	return s
}

// admit reports whether an upload of size more bytes fits, as an S3 error;
// newObject counts it against the object cap too.
func (s *capStore) admit(size int64, newObject bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.admitLocked(size, newObject)
}

// exists reports whether bucket holds key (synthetic keys do not count).
func (s *capStore) exists(bucket, key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.sizes[sizeKey(bucket, key)]
	return ok
}

func (s *capStore) admitLocked(size int64, newObject bool) error {
	if held := s.bytes + s.partBytes + s.inflight; size > 0 && held+size > s.maxBytes {
		return gofakes3.ErrorMessagef(codeEntityTooLarge,
			"the fake backend holds at most %d bytes in memory (%d held); raise objects.max_bytes", s.maxBytes, held)
	}
	if newObject && s.count+s.inflightNew+1 > s.maxCount {
		return gofakes3.ErrorMessagef(codeEntityTooLarge,
			"the fake backend holds at most %d objects; raise objects.max_count", s.maxCount)
	}
	return nil
}

func (s *capStore) PutObject(bucket, key string, meta map[string]string, input io.Reader, size int64, cond *gofakes3.PutConditions) (gofakes3.PutObjectResult, error) {
	if size < 0 {
		return gofakes3.PutObjectResult{}, gofakes3.ErrMissingContentLength
	}
	k := sizeKey(bucket, key)
	// Reserve before reading the body so concurrent uploads cannot overshoot.
	s.mu.Lock()
	_, exists := s.sizes[k]
	var isNew int64
	if !exists {
		isNew = 1
	}
	if err := s.admitLocked(size, !exists); err != nil {
		s.mu.Unlock()
		return gofakes3.PutObjectResult{}, err
	}
	s.inflight += size
	s.inflightNew += isNew
	s.mu.Unlock()
	res, err := s.Backend.PutObject(bucket, key, meta, io.LimitReader(input, size), size, cond)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inflight -= size
	s.inflightNew -= isNew
	if err == nil {
		// Counted at commit, against what this store last counted for
		// the key: exact count; bytes off only while two PUTs of one key
		// of different sizes commit in the other order, never drifting.
		old, had := s.sizes[k]
		s.sizes[k] = size
		s.bytes += size - old
		if !had {
			s.count++
		}
	}
	return res, err
}

func (s *capStore) forget(bucket, key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := sizeKey(bucket, key)
	if old, ok := s.sizes[k]; ok {
		delete(s.sizes, k)
		s.bytes -= old
		s.count--
	}
}

func (s *capStore) DeleteObject(bucket, key string) (gofakes3.ObjectDeleteResult, error) {
	s.forget(bucket, key)
	return s.Backend.DeleteObject(bucket, key)
}

func (s *capStore) DeleteMulti(bucket string, keys ...string) (gofakes3.MultiDeleteResult, error) {
	for _, k := range keys {
		s.forget(bucket, k)
	}
	return s.Backend.DeleteMulti(bucket, keys...)
}

func (s *capStore) ForceDeleteBucket(name string) error {
	err := s.Backend.ForceDeleteBucket(name)
	if err == nil {
		s.mu.Lock()
		prefix := sizeKey(name, "")
		for k, n := range s.sizes {
			if strings.HasPrefix(k, prefix) {
				delete(s.sizes, k)
				s.bytes -= n
				s.count--
			}
		}
		s.mu.Unlock()
	}
	return err
}

// CopyObject goes through PutObject so copies count against the cap.
func (s *capStore) CopyObject(srcBucket, srcKey, dstBucket, dstKey string, meta map[string]string) (gofakes3.CopyObjectResult, error) {
	return gofakes3.CopyObject(s, srcBucket, srcKey, dstBucket, dstKey, meta)
}

func (s *capStore) GetObject(bucket, key string, rr *gofakes3.ObjectRangeRequest) (*gofakes3.Object, error) {
	obj, err := s.Backend.GetObject(bucket, key, rr)
	if err != nil && gofakes3.HasErrorCode(err, gofakes3.ErrNoSuchKey) {
		if sy := s.synthetic(key); sy != nil {
			return synthObject(key, int64(sy.Size), s.synthModified, rr)
		}
	}
	return obj, err
}

func (s *capStore) HeadObject(bucket, key string) (*gofakes3.Object, error) {
	obj, err := s.Backend.HeadObject(bucket, key)
	if err != nil && gofakes3.HasErrorCode(err, gofakes3.ErrNoSuchKey) {
		if sy := s.synthetic(key); sy != nil {
			return synthObject(key, int64(sy.Size), s.synthModified, nil)
		}
	}
	return obj, err
}

func (s *capStore) synthetic(key string) *scenarios.Synthetic {
	for _, sy := range s.synth {
		if sy != nil && strings.HasPrefix(key, sy.Prefix) {
			return sy
		}
	}
	return nil
}

// synthObject makes the deterministic object of key: its bytes depend only
// on the key and the offset, so a range read needs no generation of the
// bytes before it and repeated GETs return the same content.
func synthObject(key string, size int64, modified string, rr *gofakes3.ObjectRangeRequest) (*gofakes3.Object, error) {
	h := fnv.New64a()
	h.Write([]byte(key))
	seed := h.Sum64()
	etag := md5.Sum([]byte(fmt.Sprintf("soak-synthetic:%s:%d", key, size)))
	obj := &gofakes3.Object{Name: key, Size: size, Hash: etag[:],
		Metadata: map[string]string{"Last-Modified": modified, "Content-Type": "binary/octet-stream"}}
	start, length := int64(0), size
	if rr != nil {
		rng, err := rr.Range(size)
		if err != nil {
			return nil, err
		}
		if rng != nil {
			obj.Range = rng
			start, length = rng.Start, rng.Length
		}
	}
	obj.Contents = io.NopCloser(&synthReader{seed: seed, off: start, end: start + length})
	return obj, nil
}

// SyntheticBytes returns bytes [off, off+n) of the synthetic object key,
// for clients (and tests) that check what they read.
func SyntheticBytes(key string, off, n int64) []byte {
	h := fnv.New64a()
	h.Write([]byte(key))
	r := &synthReader{seed: h.Sum64(), off: off, end: off + n}
	b := make([]byte, n)
	_, _ = io.ReadFull(r, b)
	return b
}

type synthReader struct {
	seed     uint64
	off, end int64
}

func (r *synthReader) Read(p []byte) (int, error) {
	if r.off >= r.end {
		return 0, io.EOF
	}
	n := 0
	var word [8]byte
	for n < len(p) && r.off < r.end {
		// One mix per 8 bytes: the word at offset/8, sliced from offset%8.
		binary.LittleEndian.PutUint64(word[:], splitmix(r.seed^uint64(r.off/8)))
		c := copy(p[n:], word[r.off%8:min(8, r.off%8+r.end-r.off)])
		n += c
		r.off += int64(c)
	}
	return n, nil
}

func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// reservePart admits part n of upload id, of size bytes, replacing a part
// of that number sent before; undo gives the reservation back when the
// part is not stored after all.
func (s *capStore) reservePart(id string, n int, size int64) (undo func(), err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.parts[id][n]
	s.partBytes -= old
	if err := s.admitLocked(size, false); err != nil {
		s.partBytes += old
		return nil, err
	}
	if s.parts[id] == nil {
		s.parts[id] = map[int]int64{}
	}
	s.parts[id][n] = size
	s.partBytes += size
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.parts[id] != nil && s.parts[id][n] == size {
			s.parts[id][n] = old
			s.partBytes += old - size
		}
	}, nil
}

// releaseUpload stops counting the parts of upload id (completed: the
// object they make is counted by PutObject; or aborted); undo counts them
// again when that fails.
func (s *capStore) releaseUpload(id string) (undo func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	parts := s.parts[id]
	delete(s.parts, id)
	var total int64
	for _, n := range parts {
		total += n
	}
	s.partBytes -= total
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if parts != nil && s.parts[id] == nil {
			s.parts[id] = parts
			s.partBytes += total
		}
	}
}
