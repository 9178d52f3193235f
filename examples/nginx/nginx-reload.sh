#!/bin/sh
# Applies a newly rendered nginx configuration: tests it, then reloads the
# running nginx, or starts nginx when none runs. A configuration that fails
# the test is not applied: the script prints nginx's complaint and exits 1,
# and a running nginx keeps serving with the configuration it has.
#
# Settings, from the environment:
#   NGINX_CONF    main configuration file (default /etc/nginx/nginx.conf)
#   NGINX_PREFIX  prefix directory for relative paths (nginx -p; default
#                 nginx's own)
#   NGINX_PID     the pid file the configuration names (default
#                 /run/nginx.pid)
#   NGINX         the nginx binary (default nginx on PATH)
set -u

conf=${NGINX_CONF:-/etc/nginx/nginx.conf}
pidfile=${NGINX_PID:-/run/nginx.pid}
nginx=${NGINX:-nginx}
if [ -n "${NGINX_PREFIX:-}" ]; then
    set -- -p "$NGINX_PREFIX" -c "$conf"
else
    set -- -c "$conf"
fi

if ! out=$("$nginx" "$@" -t -q 2>&1); then
    printf '%s\n' "$out" >&2
    echo "nginx-reload: $conf failed nginx -t; nginx was not reloaded" >&2
    exit 1
fi

# A pid file can outlive its nginx (a container restarted, a crash) and its
# number be reused: reload only a live nginx master.
pid=$(cat "$pidfile" 2>/dev/null || true)
if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null &&
    grep -q '^nginx: master' "/proc/$pid/cmdline" 2>/dev/null; then
    exec kill -HUP "$pid"
fi
rm -f "$pidfile"
exec "$nginx" "$@"
