#!/usr/bin/env bash
# A private CA and the certificates signed by it, for MQTT over TLS (README "Security"). Needs openssl.
#
#   deploy/certs.sh ca     DIR                     DIR/ca.key, DIR/ca.crt (keep ca.key offline)
#   deploy/certs.sh server DIR NAME HOST [HOST…]   DIR/NAME.key, DIR/NAME.crt for the broker: each HOST
#                                                  (a DNS name or an IP address) that clients connect to
#   deploy/certs.sh client DIR NAME                DIR/NAME.key, DIR/NAME.crt for a client (CN = NAME)
#
# Keys are EC P-256 and readable by their owner only; certificates last 825 days, the CA 10 years.
set -euo pipefail
umask 077

die() {
  echo "certs.sh: error: $*" >&2
  exit 2
}

# quiet COMMAND…: run it; on failure, stop with what it said
quiet() {
  local out
  out=$("$@" 2>&1) || die "$1 failed: $out"
}

[[ $# -ge 2 ]] || die "usage: certs.sh ca DIR | server DIR NAME HOST… | client DIR NAME"
command -v openssl >/dev/null || die "openssl is not installed (Debian: apt-get install openssl)"
what=$1 dir=$2
mkdir -p "$dir"

# sign NAME CN EXTENSIONS: a key and a certificate signed by the CA in $dir
sign() {
  local name=$1 cn=$2 ext=$3
  [[ -f $dir/ca.key && -f $dir/ca.crt ]] || die "no CA in $dir: run 'certs.sh ca $dir' first"
  [[ $name =~ ^[A-Za-z0-9_.-]+$ ]] || die "bad name '$name': letters, digits, _ . - only"
  [[ ! -e $dir/$name.key ]] || die "$dir/$name.key exists already: remove it to make a new one"
  quiet openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$dir/$name.key" \
    -subj "/CN=$cn" -out "$dir/$name.csr"
  quiet openssl x509 -req -in "$dir/$name.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial \
    -days 825 -out "$dir/$name.crt" -extfile <(printf '%s\n' "$ext" \
      "basicConstraints=critical,CA:FALSE" "subjectKeyIdentifier=hash" "authorityKeyIdentifier=keyid,issuer")
  rm -f "$dir/$name.csr"
  chmod 644 "$dir/$name.crt"
  echo "$dir/$name.crt, $dir/$name.key"
}

case $what in
  ca)
    [[ ! -e $dir/ca.key ]] || die "$dir/ca.key exists already"
    quiet openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
      -keyout "$dir/ca.key" -out "$dir/ca.crt" -subj "/CN=qingzhi private CA" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
    chmod 644 "$dir/ca.crt"
    echo "$dir/ca.crt, $dir/ca.key"
    ;;
  server)
    [[ $# -ge 4 ]] || die "usage: certs.sh server DIR NAME HOST [HOST…]"
    sans=()
    for host in "${@:4}"; do
      if [[ $host =~ ^[0-9.]+$ || $host == *:* ]]; then sans+=("IP:$host"); else sans+=("DNS:$host"); fi
    done
    sign "$3" "$4" "subjectAltName=$(IFS=,; echo "${sans[*]}")
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth"
    ;;
  client)
    [[ $# -eq 3 ]] || die "usage: certs.sh client DIR NAME"
    sign "$3" "$3" "keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth"
    ;;
  *) die "unknown '$what': ca, server or client" ;;
esac
