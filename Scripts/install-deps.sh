#!/usr/bin/env bash
# Installs the Debian 12 packages SwiftLVS builds and tests against. Idempotent: when every
# package is already installed it does not touch apt at all.
#
#   libpcap-dev, libnet1-dev   C libraries behind the CPcap and CNet targets (pkg-config finds libpcap)
#   libssl-dev                 system OpenSSL behind COpenSSL (SSL_GET's TLS, the HTTP digest's MD5)
#   openssl                    the CLI makes the self-signed certificate SSL_GET's tests serve
#   tshark                     independent pcap reader used by the replay tests
#   iproute2, nftables, nginx-light, curl, netsniff-ng (trafgen), python3, ethtool
#                              network-namespace end-to-end tests
#   systemd                    systemd-analyze rates dist/lvsd.service's hardening
#   graphviz                   dot renders the Docs/learn diagrams (Scripts/learn.sh)
#   dnsmasq-base, python3-aiosmtpd
#                              the DNS and SMTP servers DNS_CHECK's and SMTP_CHECK's tests probe
#   prometheus, prometheus-node-exporter, chromium
#                              observability end-to-end tests: a real Prometheus scrapes lvsd
#                              (promtool lints the exposition), node_exporter reads its
#                              procfs files, headless Chromium renders the web monitor
#   vsftpd                     the FTP server behind the FTP helper's end-to-end tests
#
# Run as root (CI does); a non-root user with sudo is also accepted. Never prompts.
set -euo pipefail

packages=(
    pkg-config libpcap-dev libnet1-dev libssl-dev openssl tshark
    iproute2 nftables curl netsniff-ng python3 ethtool
    systemd graphviz dnsmasq-base python3-aiosmtpd
    prometheus prometheus-node-exporter chromium
    vsftpd
)
# nginx-light is the small build; any installed nginx flavour will do.
nginx_flavours=(nginx-light nginx nginx-core nginx-full nginx-extras)

fail() {
    echo "install-deps: $*" >&2
    exit 1
}

is_installed() {
    [[ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null || true)" == "installed" ]]
}

command -v dpkg-query >/dev/null 2>&1 || fail "dpkg-query not found: this script supports Debian 12 (bookworm) only."

missing=()
for package in "${packages[@]}"; do
    is_installed "$package" || missing+=("$package")
done
have_nginx=false
for flavour in "${nginx_flavours[@]}"; do
    if is_installed "$flavour"; then have_nginx=true; break; fi
done
$have_nginx || missing+=(nginx-light)

if [[ ${#missing[@]} -eq 0 ]]; then
    echo "install-deps: all packages present, nothing to do."
    exit 0
fi

if [[ $(id -u) -eq 0 ]]; then
    as_root=()
elif command -v sudo >/dev/null 2>&1; then
    as_root=(sudo)
else
    fail "missing packages (${missing[*]}) and not running as root. Run: sudo bash $0"
fi

echo "install-deps: installing ${missing[*]}"

export DEBIAN_FRONTEND=noninteractive
# tshark's wireshark-common would otherwise ask whether non-root users may capture.
echo "wireshark-common wireshark-common/install-setuid boolean false" \
    | "${as_root[@]}" debconf-set-selections \
    || fail "debconf-set-selections failed; is the debconf package installed?"

# Packages like nginx start their service on install. Tests start their own servers in
# network namespaces, so keep daemons from starting (the usual container policy-rc.d),
# unless the machine already has a policy in place.
policy=/usr/sbin/policy-rc.d
created_policy=false
if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\n# Temporary, from SwiftLVS Scripts/install-deps.sh\nexit 101\n' \
        | "${as_root[@]}" tee "$policy" >/dev/null
    "${as_root[@]}" chmod 755 "$policy"
    created_policy=true
fi
cleanup() {
    if $created_policy; then "${as_root[@]}" rm -f "$policy"; fi
}
trap cleanup EXIT

log=$(mktemp)
run_apt() {
    if ! "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive "$@" </dev/null >"$log" 2>&1; then
        echo "install-deps: '$*' failed; its output follows:" >&2
        cat "$log" >&2
        rm -f "$log"
        exit 1
    fi
}

run_apt apt-get update -q
run_apt apt-get install -y -q --no-install-recommends \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${missing[@]}"
rm -f "$log"

for package in "${missing[@]}"; do
    is_installed "$package" || fail "$package is still not installed after apt-get install."
done
echo "install-deps: done."
