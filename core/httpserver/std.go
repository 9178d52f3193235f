package httpserver

import (
	"bytes"
	"net/http"
	"net/url"
)

// Std serves a request with a net/http Handler (profiles, Prometheus
// exposition, static files). The handler's output is buffered whole.
func Std(h http.Handler, w *Response, r *Request) {
	u := &url.URL{Path: r.Path, RawPath: r.RawPath, RawQuery: r.RawQuery}
	hr, err := http.NewRequestWithContext(r.Context(), r.Method, u.String(), bytes.NewReader(r.Body))
	if err != nil {
		w.Error("bad request: "+err.Error(), http.StatusBadRequest)
		return
	}
	hr.Header = make(http.Header, len(r.Header))
	for _, f := range r.Header {
		hr.Header.Add(f.Name, f.Value)
	}
	hr.Host = r.Host
	hr.RequestURI = u.RequestURI()
	if r.RemoteAddr != nil {
		hr.RemoteAddr = r.RemoteAddr.String()
	}
	if r.Proto == "HTTP/1.0" {
		hr.Proto, hr.ProtoMajor, hr.ProtoMinor = "HTTP/1.0", 1, 0
	}
	sw := &stdWriter{resp: w, header: http.Header{}}
	h.ServeHTTP(sw, hr)
	if !sw.wrote {
		sw.WriteHeader(http.StatusOK)
	}
}

// stdWriter is an http.ResponseWriter over a Response.
type stdWriter struct {
	resp   *Response
	header http.Header
	wrote  bool
}

func (s *stdWriter) Header() http.Header { return s.header }

func (s *stdWriter) WriteHeader(code int) {
	if s.wrote {
		return
	}
	s.wrote = true
	s.resp.WriteHeader(code)
	for k, vs := range s.header {
		if k == "Content-Length" || k == "Connection" || k == "Transfer-Encoding" || k == "Date" {
			continue // framing is the server's
		}
		for _, v := range vs {
			s.resp.AddHeader(k, v)
		}
	}
}

func (s *stdWriter) Write(b []byte) (int, error) {
	if !s.wrote {
		if s.header.Get("Content-Type") == "" && len(b) > 0 {
			s.header.Set("Content-Type", http.DetectContentType(b))
		}
		s.WriteHeader(http.StatusOK)
	}
	return s.resp.Write(b)
}

// Flush is a no-op: the response is sent whole.
func (s *stdWriter) Flush() {}
