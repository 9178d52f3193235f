# The beacon image: one static binary that is the agent, the registrator and
# every CLI command. Build from the repository root:
#
#   docker build -t beacon:0.1.0 .
#   docker run -d --net=host -v /opt/beacon/config:/beacon/config -v /opt/beacon/data:/beacon/data \
#       beacon:0.1.0 agent -config-dir=/beacon/config
#   docker run -d --net=host --group-add "$(stat -c %g /var/run/docker.sock)" \
#       -v /var/run/docker.sock:/tmp/docker.sock beacon:0.1.0 registrator consul://127.0.0.1:8500
#
# examples/docker/README.md has the whole setup.

ARG GO_VERSION=1.26

FROM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
# Modules first, so that a source change does not download them again.
COPY go.mod go.sum ./
# The raft library is built from the patched copy in third_party/raft.
COPY third_party ./third_party
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/beacon ./cmd/beacon \
 && /out/beacon version

FROM alpine:3.20
# A shell, wget and grep stay available for health probes and debugging.
RUN addgroup -S -g 1000 beacon \
 && adduser -S -D -H -u 1000 -G beacon -h /beacon beacon \
 && mkdir -p /beacon/config /beacon/data \
 && chown -R beacon:beacon /beacon
COPY --from=build /out/beacon /bin/beacon
# Under these names the binary behaves as the tools it replaces, so
# `docker exec <container> consul members` keeps working.
RUN ln -s beacon /bin/consul \
 && ln -s beacon /bin/consul-template \
 && ln -s beacon /bin/registrator
USER beacon
WORKDIR /beacon
VOLUME ["/beacon/data"]
# server RPC, LAN and WAN gossip, HTTP API, DNS
EXPOSE 8300 8301 8301/udp 8302 8302/udp 8500 8600 8600/udp
ENTRYPOINT ["/bin/beacon"]
# A development server reachable through -p 8500:8500.
CMD ["agent", "-dev", "-client", "0.0.0.0"]
