#!/usr/bin/env bash
# Runs testssl.sh (Debian package testssl.sh) against tinyhttpd serving HTTPS on loopback with
# a fresh self-signed ECDSA P-256 certificate, and fails if any finding has severity HIGH or
# CRITICAL about the server. Findings that only say the throwaway certificate is self-signed
# (no chain of trust, no CRL or OCSP URI) are listed apart: a real certificate has neither.
# The report goes to $OUT (default target/testssl); the summary is printed.
# Not run by .ci/run: it takes a few minutes. Loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-target/testssl}
PORT=${PORT:-8443}
mkdir -p "$OUT"
TESTSSL=$(command -v testssl || command -v testssl.sh || true)
if [[ -z $TESTSSL ]]; then
  echo "testssl.sh is not installed: apt-get install testssl.sh" >&2
  exit 1
fi
cargo build --release -q
work=$(mktemp -d)
trap 'kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 365 \
  -keyout "$work/key.pem" -out "$work/cert.pem" -subj /CN=localhost \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" 2>/dev/null
mkdir "$work/root"
echo hello > "$work/root/index.html"
target/release/tinyhttpd "$work/root" --bind 127.0.0.1 --port "$PORT" --hsts 31536000 \
  --tls-cert "$work/cert.pem" --tls-key "$work/key.pem" > "$work/out" 2>&1 &
server=$!
for _ in $(seq 50); do grep -q listening "$work/out" && break; sleep 0.1; done
rm -f "$OUT/testssl.json" "$OUT/testssl.log"
"$TESTSSL" --quiet --color 0 --warnings batch --jsonfile "$OUT/testssl.json" \
  --logfile "$OUT/testssl.log" "127.0.0.1:$PORT" > /dev/null || true
python3 - "$OUT/testssl.json" <<'PY'
import collections, json, sys
findings = json.load(open(sys.argv[1]))
counts = collections.Counter(f["severity"] for f in findings)
print("testssl.sh findings by severity:", dict(sorted(counts.items())))
# What a self-signed test certificate cannot pass, whatever the server does.
CERTIFICATE_ONLY = {"cert_chain_of_trust", "cert_revocation"}
severe = [f for f in findings if f["severity"] in ("HIGH", "CRITICAL")]
for f in severe:
    if f["id"] in CERTIFICATE_ONLY:
        print(f'(test certificate) {f["severity"]}: {f["id"]}: {f["finding"]}')
bad = [f for f in severe if f["id"] not in CERTIFICATE_ONLY]
for f in bad:
    print(f'{f["severity"]}: {f["id"]}: {f["finding"]}')
sys.exit(1 if bad else 0)
PY
